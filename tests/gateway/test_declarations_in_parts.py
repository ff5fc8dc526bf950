"""A big declaration read in parts gives exactly what it gives read whole: records, quarantine, warnings,
counts, its summary and allowances. Parts keep memory flat for the biggest employers' declarations."""
import io

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fixtures import builders as B
from fixtures.generator import Rates, generate
from gateway.ingest import DeclarationTask, index_file, iter_outcomes, process_tasks
from gateway.parse.declaration import flow_of, norm_for
from gateway.parse.windows import plan_parts
from gateway.pseudonym import Pseudonymiser
from gateway.validate.registry import DEFAULT_RULES

from tests.conftest import BUNDLED, TEST_KEY

WHOLE = 10**9
PSEUDONYMS = Pseudonymiser(TEST_KEY)


def _tasks(path) -> list[DeclarationTask]:
    return [item for item in index_file(str(path), DEFAULT_RULES) if isinstance(item, DeclarationTask)]


def _parts(task: DeclarationTask, window: int) -> int:
    """How many parts the task's declarations are read in (a declaration read whole counts one)."""
    count = 0
    with open(task.path, "rb") as fh:
        for span in task.spans:
            parts = plan_parts(fh, span, norm_for(flow_of(span.nature), task.norm_version), window)
            count += len(parts.parts) if parts else 1
    return count


def _assert_alike(path, window: int) -> int:
    """Every task of the file gives the same outcome read whole and in parts; returns the parts read."""
    parts = 0
    for task in _tasks(path):
        whole = process_tasks([task], DEFAULT_RULES, PSEUDONYMS, window_lines=WHOLE)
        in_parts = process_tasks([task], DEFAULT_RULES, PSEUDONYMS, window_lines=window)
        assert in_parts == whole, f"{path.name} read in parts of {window} lines"
        assert in_parts.counts.used + in_parts.counts.ignored + in_parts.counts.quarantined == sum(
            span.span.lines for span in task.spans)
        parts += _parts(task, window) - len(task.spans)
    return parts


@pytest.mark.parametrize("window", [40, 300])
def test_generated_flows_with_defects_give_the_same_outcome_read_in_parts(tmp_path, window):
    """DSN and PASRAU files with a defect in 30 % of them (every kind of defect at least once)."""
    generate(tmp_path, people=120, employers=4, bodies=2, months=3, seed=11, rates=Rates(defects=0.3))
    cuts = sum(_assert_alike(path, window) for path in sorted(tmp_path.rglob("*.dsn")))
    assert cuts > 0


def test_bundled_flows_give_the_same_outcome_read_in_parts():
    cuts = sum(_assert_alike(path, 20) for path in sorted(BUNDLED.rglob("*.dsn")))
    assert cuts > 0


IN_2026 = {"paid_on": B.date(2026, 3, 27), "period": (B.date(2026, 3, 1), B.date(2026, 3, 31))}   # norm P26V01


def _people(count: int, **payment) -> list:
    return [(B.a_person(nir=B.nir_for(1, B.date(1985, 3, 15), 75, 100 + i, 1 + i), contract=f"C{i:05d}"),
             [B.a_payment(**payment)]) for i in range(count)]


def test_a_nir_declared_in_two_parts_takes_both_people_out(tmp_path):
    """The uniqueness of a NIR is checked over the whole declaration, not part by part."""
    people = _people(12)
    people[11] = (B.a_person(nir=people[0][0].nir, contract="C99999"), [B.a_payment()])
    path = tmp_path / "twice.dsn"
    path.write_bytes(B.a_dsn_file(*people))
    [task] = _tasks(path)
    assert _parts(task, 60) > 2
    outcome = process_tasks([task], DEFAULT_RULES, PSEUDONYMS, window_lines=60)
    assert [q.rule_id for q in outcome.quarantine] == ["DRM-ID-006", "DRM-ID-006"]
    assert outcome == process_tasks([task], DEFAULT_RULES, PSEUDONYMS, window_lines=WHOLE)


def test_a_declaration_rejected_by_its_last_part_yields_no_record_from_earlier_parts(tmp_path):
    """An unknown rubric near the end rejects the whole declaration: nothing of its first parts is kept."""
    content = B.a_dsn_file(*_people(10))
    last_person = content.rindex(b"S21.G00.40.001")
    path = tmp_path / "late.dsn"
    path.write_bytes(content[:last_person] + b"S21.G00.40.999,'X'\n" + content[last_person:])
    [task] = _tasks(path)
    outcomes = list(iter_outcomes([task], DEFAULT_RULES, PSEUDONYMS, window_lines=60))
    assert _parts(task, 60) > 2 and len(outcomes) == 1
    assert not outcomes[0].resources and outcomes[0].counts.quarantined == task.spans[0].span.lines
    assert "DRM-STR-006" in {q.rule_id for q in outcomes[0].quarantine}


def test_an_accepted_declaration_read_in_parts_yields_an_outcome_per_part(tmp_path):
    """Records leave part by part; the declaration's summary (with every person) comes with the last part."""
    path = tmp_path / "big.dsn"
    path.write_bytes(B.a_dsn_file(*_people(10, subrogated_allowance=1500, **IN_2026), norm="P26V01", main_month=B.date(2026, 3, 1)))
    [task] = _tasks(path)
    outcomes = list(iter_outcomes([task], DEFAULT_RULES, PSEUDONYMS, window_lines=60))
    assert len(outcomes) == _parts(task, 60) > 2
    assert all(o.resources for o in outcomes)
    assert [len(o.summaries) for o in outcomes] == [0] * (len(outcomes) - 1) + [1]
    people = outcomes[-1].summaries[0].people
    assert len(people) == 10 and {p.subrogated_allowance_cents for p in people} == {1500}


def test_cuts_stop_at_a_block_that_belongs_to_no_person(tmp_path):
    """Past a block out of place between people (here an establishment-level block), the rest is one part:
    cutting there could attach later blocks to other instances than the whole declaration does."""
    content = B.a_dsn_file(*_people(10))
    middle = content.index(b"S21.G00.30.001", len(content) // 3)
    content = content[:middle] + b"S21.G00.44.001,'01'\nS21.G00.44.002,'1.00'\n" + content[middle:]
    line = content[:middle].count(b"\n") + 1
    path = tmp_path / "out_of_place.dsn"
    path.write_bytes(content)
    [task] = _tasks(path)
    parts = plan_parts(io.BytesIO(content), task.spans[0], norm_for(flow_of(task.spans[0].nature), "P25V01"), 40)
    assert parts is not None and len(parts.parts) > 1
    assert parts.parts[-1].first_line <= line <= parts.parts[-1].last_line


_FOREIGN = [b"S21.G00.44.001,'01'", b"S21.G00.40.999,'X'", b"S21.G00.56.001,'01022025'", b"S21.G00.30.001,'1850375111042'",
            b"S21.G00.51.013,'12.3'", b"S21.G00.30.002,'D'ALMEIDA'", b"S21.G00.11.001,'00014'", b"S21.G00.62.001,'31032025'",
            b"x", b"", b"S21.G00.30.006,'31021985'", b"S89.G00.91.001,'1'", b"S21.G00.85.001,'12345678900011'"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["drop", "dup", "swap", "insert"]), st.integers(0, 10_000),
                          st.integers(0, len(_FOREIGN) - 1)), max_size=6),
       st.booleans(), st.booleans(), st.integers(45, 200))
@example([("dup", 18, 0)], False, False, 45)      # a second S20 line: a one-line declaration before a big one
@example([("insert", 203, 0), ("dup", 0, 0)], False, False, 45)   # an establishment block among people, late
@example([("insert", 313, 0), ("insert", 258, 2)], False, False, 45)  # and a payment block without its payment
@example([("swap", 32, 0), ("insert", 93, 6)], False, False, 45)      # an establishment more, after people
def test_mutated_declarations_give_the_same_outcome_read_in_parts(tmp_path_factory, edits, crlf, final_newline,
                                                                  window):
    """Lines dropped, repeated, swapped or foreign lines inserted anywhere, CR LF ends, no final newline."""
    lines = B.a_dsn_file(*_people(8, subrogated_allowance=900, **IN_2026), norm="P26V01",
                         main_month=B.date(2026, 3, 1)).split(b"\n")[:-1]
    for kind, where, which in edits:
        at = where % len(lines)
        if kind == "drop":
            del lines[at]
        elif kind == "dup":
            lines.insert(at, lines[at])
        elif kind == "swap" and at + 1 < len(lines):
            lines[at], lines[at + 1] = lines[at + 1], lines[at]
        elif kind == "insert":
            lines.insert(at, _FOREIGN[which])
    end = b"\r\n" if crlf else b"\n"
    content = end.join(lines) + (end if final_newline else b"")
    path = tmp_path_factory.mktemp("parts") / "mutated.dsn"
    path.write_bytes(content)
    _assert_alike(path, window)


def test_a_crash_after_some_parts_were_yielded_quarantines_only_the_rest(tmp_path):
    """Parts already yielded stand; the lines not accounted for yet are quarantined as an internal error
    (DRM-RUN-001), so that every line is still counted once."""
    from fixtures.hostile import big_declaration
    from gateway.records import Severity
    from gateway.validate.registry import RuleRegistry, Target
    from transforms.parse import CRASH_RULE, _ProcessTask
    big, small = tmp_path / "big.dsn", tmp_path / "small.dsn"
    big.write_bytes(big_declaration(2_300))                     # about 120,000 lines: read in parts
    small.write_bytes(B.a_dsn_file(siret=B.siret_from(B.siren_from(77))))
    tasks = (*_tasks(big), *_tasks(small))
    registry = RuleRegistry()

    @registry.rule("DRM-TST-001", family="test", severity=Severity.WARNING, target=Target.DECLARATION,
                   explain="Règle d'essai.")
    def fails_on_the_small_file(decl):
        if decl.file == "small.dsn":
            raise RuntimeError("unexpected")
        return iter(())
    step = _ProcessTask(TEST_KEY)
    step.setup()
    step._registry = registry
    outcomes = list(step.process(tasks))
    lines = sum(span.span.lines for task in tasks for span in task.spans)
    assert sum(o.counts.used + o.counts.ignored + o.counts.quarantined for o in outcomes) == lines
    assert len(outcomes) > 2 and [q.rule_id for q in outcomes[-1].quarantine] == [CRASH_RULE]
    assert outcomes[-1].counts.quarantined == tasks[-1].spans[0].span.lines


def test_warnings_of_one_rule_beyond_the_examples_are_counted_alike_whole_and_in_parts(tmp_path):
    """300 one-line people each miss two mandatory blocks (600 findings of DRM-STR-010): 20 are listed and one
    more warning says how many others there are, whether the declaration is read whole or in parts."""
    from fixtures.hostile import one_line_people
    from gateway.ingest import WARNING_EXAMPLES
    path = tmp_path / "people.dsn"
    path.write_bytes(one_line_people(300))
    task = _tasks(path)[0]
    whole = process_tasks([task], DEFAULT_RULES, PSEUDONYMS, window_lines=WHOLE)
    assert [w.rule_id for w in whole.warnings] == ["DRM-STR-010"] * (WARNING_EXAMPLES + 1)
    assert whole.warnings[-1].detail.startswith("580 more findings") and "600 fois" in whole.warnings[-1].explain
    assert process_tasks([task], DEFAULT_RULES, PSEUDONYMS, window_lines=40) == whole
    assert _parts(task, 40) > 1


def test_a_declaration_of_many_short_people_is_cut_by_people_too(tmp_path):
    """Memory follows block instances: parts of one-line people hold at most ``window_people`` people each."""
    from fixtures.hostile import one_line_people
    path = tmp_path / "people.dsn"
    path.write_bytes(one_line_people(300))
    task = _tasks(path)[0]
    span = task.spans[0]
    with open(path, "rb") as fh:
        parts = plan_parts(fh, span, norm_for(flow_of(span.nature), task.norm_version), 200, window_people=50)
    assert len(parts.parts) == 6 and all(part.lines <= 50 for part in parts.parts)
