from fixtures.generator import Rates, generate
from bench import stages


def test_every_bench_stage_runs_and_counts_the_lines_it_measures(tmp_path):
    """Stages over whole files count every line; stages over declarations count the same declaration lines."""
    generate(tmp_path, people=12, employers=2, bodies=1, months=2, seed=5, rates=Rates(defects=0.05))
    folder = str(tmp_path)
    counted = {}
    for name, stage in stages.STAGES.items():
        found = stage(folder)
        counted[name] = found[0] if isinstance(found, tuple) else found
    whole = {counted[name] for name in ("floor", "index", "parse_validate_normalise", "register", "run")}
    in_declarations = {counted[name] for name in ("blocks", "parse", "validate")}
    assert len(whole) == 1 and len(in_declarations) == 1
    assert 0 < in_declarations.pop() < whole.pop()
