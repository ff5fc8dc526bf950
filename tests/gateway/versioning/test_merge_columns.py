"""The register's merge over columns (``gateway.versioning.columns.merge_columns``, the run's) gives what the merge key
by key gives (``gateway.versioning.register.merge``, its reference): the same fresh declarations, added contributions
and new versions, field for field and in the same order, on generated histories full of revisions (annule-et-remplace,
late declarations, régularisations, back pay, net-social corrections, defects), month by month into a register and
all at once with many declarations of one slot in a run; and with amounts whose sums leave int64."""
import random
from dataclasses import replace
from pathlib import Path

import pytest

from fixtures.generator import Rates, generate
from gateway.ingest import process_file
from gateway.publish.datasets import bucket_of
from gateway.records import Outcome
from gateway.validate.registry import DEFAULT_RULES
from gateway.versioning.columns import ContributionRows, contribution_table, merge_columns
from gateway.versioning.register import (contributions_of, current_declarations, declaration_of_summary,
                                         fresh_declarations, merge)

RATES = Rates(late=0.2, replacement=0.3, regularisation=0.2, back_pay=0.15, net_social_correction=0.15, defects=0.05)


def _both(**inputs):
    expected = merge(**inputs)
    found = merge_columns(**inputs)
    assert isinstance(found[1], ContributionRows)
    assert found == expected
    # contributions handed over as columns give the same as handed over as objects
    as_rows = dict(inputs, new_contributions=ContributionRows(contribution_table(inputs["new_contributions"])),
                   contributions=ContributionRows(contribution_table(inputs["contributions"])))
    assert merge_columns(**as_rows) == expected
    return expected


def _outcomes(folder: Path, pseudonyms) -> list[tuple[str, Outcome]]:
    """(arrival month, outcome) of every generated file, in arrival order."""
    out = []
    for month in sorted(p for p in folder.iterdir() if p.is_dir()):
        for path in sorted(month.rglob("*.dsn")):
            out.append((month.name[:7], process_file(str(path), DEFAULT_RULES, pseudonyms)))
    return out


def test_month_by_month_into_a_register_the_merge_over_columns_gives_the_references_versions(tmp_path, pseudonyms):
    generate(tmp_path / "flows", people=60, employers=4, bodies=2, months=8, seed=31, rates=RATES)
    by_month: dict[str, list[Outcome]] = {}
    for month, outcome in _outcomes(tmp_path / "flows", pseudonyms):
        by_month.setdefault(month, []).append(outcome)
    buckets = 3
    state: dict[int, tuple[list, list, list]] = {}
    known: list = []
    versions_made = replaced = 0
    for month, outcomes in sorted(by_month.items()):
        as_of = f"{month}-01T00:00:00Z"
        arriving = [declaration_of_summary(s, as_of) for o in outcomes for s in o.summaries]
        contributions = contributions_of(Outcome.combine(outcomes).resources)
        for bucket in range(buckets):
            mine = [c for c in contributions if bucket_of(c.person_key, buckets) == bucket]
            prior_known, prior_contributions, prior_versions = state.get(bucket, ([], [], []))
            fresh, added, versions = _both(known=list(known), contributions=prior_contributions,
                                           versions=prior_versions, arriving=arriving, new_contributions=mine,
                                           run_id=f"r-{month}")
            state[bucket] = (prior_known, prior_contributions + list(added), prior_versions + list(versions))
            versions_made += len(versions)
            replaced += sum(v.cause.value == "REPLACEMENT" for v in versions)
        known.extend(fresh_declarations(known, arriving))
    assert versions_made > 500 and replaced > 10          # the histories hold what the proof is about


def test_many_declarations_of_a_slot_in_one_run_give_the_references_versions(tmp_path, pseudonyms):
    """Every generated file in one run, each arriving at its own time: a slot's original, its replacements and the
    later months' corrections all become current in the same merge, one after the other."""
    generate(tmp_path / "flows", people=40, employers=3, bodies=1, months=6, seed=37, rates=RATES)
    arriving, outcomes = [], []
    for index, (month, outcome) in enumerate(_outcomes(tmp_path / "flows", pseudonyms)):
        when = f"{month}-01T00:00:{index % 60:02d}Z"
        arriving.extend(declaration_of_summary(s, when) for s in outcome.summaries)
        outcomes.append(outcome)
    contributions = contributions_of(Outcome.combine(outcomes).resources)
    fresh, _, versions = _both(known=[], contributions=[], versions=[], arriving=arriving,
                               new_contributions=contributions, run_id="all")
    slots = {d.slot for d in fresh}
    assert len(fresh) > len(slots) and len(current_declarations(fresh)) == len(slots)
    assert max(v.version for v in versions) >= 3
    # half of them known before: the rest merged into that register
    half = len(arriving) // 2
    first = merge(known=[], contributions=[], versions=[], arriving=arriving[:half],
                  new_contributions=contributions, run_id="first")
    _both(known=first[0], contributions=list(first[1]), versions=list(first[2]), arriving=arriving[half:],
          new_contributions=contributions, run_id="second")


@pytest.mark.parametrize("size", [2 ** 61, 4 * 10 ** 18])
def test_amounts_whose_sums_leave_int64_are_summed_as_the_reference_does(tmp_path, pseudonyms, size):
    generate(tmp_path / "flows", people=5, employers=1, bodies=0, months=2, seed=3, rates=RATES)
    arriving, outcomes = [], []
    for month, outcome in _outcomes(tmp_path / "flows", pseudonyms):
        arriving.extend(declaration_of_summary(s, f"{month}-01T00:00:00Z") for s in outcome.summaries)
        outcomes.append(outcome)
    contributions = [replace(c, gross_cents=size) for c in contributions_of(Outcome.combine(outcomes).resources)]
    _, _, versions = _both(known=[], contributions=[], versions=[], arriving=arriving,
                           new_contributions=contributions, run_id="big")
    assert versions and all(v.gross_cents is not None and v.gross_cents % size == 0 for v in versions)


def test_rows_grouped_over_columns_form_the_groups_a_sort_of_their_values_forms():
    """``grouped`` (a sort, then each row compared with the one before) starts a group where the sorted rows' values
    change, as grouping the sorted tuples does: equal texts in one group whatever their chunks, texts that are
    prefixes of others apart, an empty or one-row table."""
    import itertools
    import pyarrow as pa
    from gateway.versioning.columns import grouped
    rng = random.Random(7)
    for size in (0, 1, 2, 300):
        rows = [(rng.choice(["p1", "p2", "p10", "p"]), rng.choice(["2025-01", "2025-02", "2025-1"]), rng.randint(1, 3))
                for _ in range(size)]
        cut = size // 3
        table = pa.Table.from_batches([pa.RecordBatch.from_pylist(
            [dict(zip(("person_key", "month", "version"), row)) for row in part],
            schema=pa.schema([("person_key", pa.string()), ("month", pa.string()), ("version", pa.int64())]))
            for part in (rows[:cut], rows[cut:])])
        ordered, starts = grouped(table, ("person_key", "month"), then=("version",))
        keys = list(zip(ordered.column("person_key").to_pylist(), ordered.column("month").to_pylist()))
        expected = [first for _, group in itertools.groupby(range(len(keys)), key=lambda at: keys[at])
                    for first in [True] + [False] * (len(list(group)) - 1)]
        assert starts.tolist() == expected, size
        assert sorted(map(str, rows)) == sorted(map(str, zip(*(ordered.column(name).to_pylist()
                                                                for name in ("person_key", "month", "version")))))
