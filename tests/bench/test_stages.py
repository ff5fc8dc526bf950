import pytest

from fixtures.generator import Rates, generate
from bench import stages


@pytest.fixture(scope="module")
def flows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flows")
    generate(folder, people=40, employers=4, bodies=1, months=6, seed=5, rates=Rates(defects=0.05))
    return str(folder)


def test_every_bench_stage_runs_and_counts_the_lines_it_measures(flows):
    """Stages over whole files count every line; stages over declarations count the same declaration lines."""
    counted = {}
    for name, stage in stages.STAGES.items():
        found = stage(flows)
        counted[name] = found[0] if isinstance(found, tuple) else found
    whole = {counted[name] for name in ("floor", "index", "normalise", "parse_validate_normalise",
                                        "parse_validate_normalise_reference", "register", "gate", "run")}
    in_declarations = {counted[name] for name in ("blocks", "parse", "validate")}
    assert len(whole) == 1 and len(in_declarations) == 1
    assert 0 < in_declarations.pop() < whole.pop()


def test_the_gate_stage_meets_revised_published_bases_as_monthly_runs_do(flows):
    """Month by month, bases published in a month are revised by later arrivals: the gate has decisions to take
    (the first quarterly bases are published in April: nothing to decide before)."""
    months = list(stages.monthly_register(flows))
    assert len(months) == 6 and months[0][1] == months[1][1] == months[2][1] == 0
    assert sum(decisions for _, decisions in months) > 0


def test_outcomes_made_as_a_run_s_workers_make_them_hold_what_each_file_read_alone_gives(flows):
    """The parse, normalise and register stages take the outcomes a run's workers make (files in groups, their
    declarations in tasks, read together): the same lines, records, quarantine and warnings as each file read and
    processed alone (``process_file``, the object path for small declarations)."""
    from gateway.ingest import process_file
    from gateway.pseudonym import DEMO_KEY, Pseudonymiser
    from gateway.records import Outcome
    from gateway.validate.rules import default_registry
    registry = default_registry()
    workers = Outcome.combine(stages._worker_outcomes(flows, registry, Pseudonymiser(DEMO_KEY)))
    alone = Outcome.combine(process_file(path, registry, Pseudonymiser(DEMO_KEY)) for path in stages._files(flows))
    assert workers.counts == alone.counts and workers.counts.read > 0
    for name in ("resources", "quarantine", "warnings", "allowances"):
        assert sorted(map(repr, getattr(workers, name))) == sorted(map(repr, getattr(alone, name))), name
    assert len(workers.resources) > 0 and len(workers.quarantine) > 0


def test_a_stage_timed_inside_a_pass_leaves_the_pass_unchanged(flows):
    """The normalise stage times the calls inside a whole pass, then puts the real calls back."""
    import gateway.ingest
    original = gateway.ingest.normalise_person
    lines, inside = stages.normalise(flows)
    assert gateway.ingest.normalise_person is original
    assert lines == stages.parse_validate_normalise(flows) and inside > 0


@pytest.mark.parametrize("stage", sorted(set(stages.STAGES) - {"run"}))
def test_stages_other_than_the_whole_run_measure_their_peak_without_beam(flows, stage):
    """A stage's process holds what the stage uses: only the whole run loads Beam (about 75 MB of a process); the
    other stages, the run's file groups and tasks included, never do, and still print their figures."""
    import json
    import subprocess
    import sys
    script = ("import sys; from bench import stages; sys.argv = ['stages', sys.argv[1], sys.argv[2]]; stages.main(); "
              "print(json.dumps({'beam': 'apache_beam' in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", "import json; " + script, stage, flows], capture_output=True,
                          text=True, check=True)
    figures, loaded = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert figures["stage"] == stage and figures["lines"] > 0 and figures["peak_rss_mb"] > 0
    assert loaded == {"beam": False}
