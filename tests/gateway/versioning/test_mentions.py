"""The people each declaration lists, held as columns (gateway.versioning.mentions), are the mentions the reference
gives record by record (``register.mentions_of``, ``register.fresh_mentions``)."""
import pickle
import random

import pyarrow as pa
from dataclasses import replace
from pathlib import Path

from datetime import date

from fixtures import builders as B
from fixtures.generator import Rates, generate
from gateway.ingest import process_file
from gateway.records import Outcome
from gateway.validate.registry import DEFAULT_RULES
from gateway.versioning.mentions import PACK_FROM, MentionRows, fresh_mention_rows, mention_rows, mention_table
from gateway.versioning.register import fresh_mentions, mentions_of

BUNDLED = Path(__file__).resolve().parents[3] / "fixtures" / "bundled"


def test_the_people_listed_read_as_columns_are_those_listed_record_by_record(tmp_path, pseudonyms):
    """Generated flows of both kinds with defects (quarantined declarations list nobody), the bundled flows (edge
    cases: a declaration in parts, CRLF and Latin-1 text, apostrophes), a sick leave during which the employer
    maintains pay (subrogated allowances and their months), and a file received twice: the same mentions, in the
    same order, field for field, and the same once pickled as a task spills them."""
    generate(tmp_path / "flows", people=50, employers=3, bodies=2, months=3, seed=29, rates=Rates(defects=0.1))
    for year, norm, type_10 in ((2025, "P25V01", 0), (2026, "P26V01", 41250)):      # type 10: from P26V01
        march, end = date(year, 3, 1), date(year, 3, 31)
        sick = (B.a_person(subrogation=(date(year, 3, 3), date(year, 4, 12))),
                [B.a_payment(paid_on=end, period=(march, end), subrogated_allowance=type_10)])
        (tmp_path / f"sick{year}.dsn").write_bytes(B.a_dsn_file(sick, main_month=march, norm=norm))
    files = [*sorted((tmp_path / "flows").rglob("*.dsn")), *sorted(BUNDLED.rglob("*.dsn")),
             *sorted(tmp_path.glob("sick*.dsn"))]
    files.append(files[0])
    outcomes = [process_file(str(path), DEFAULT_RULES, pseudonyms) for path in files]
    listed = 0
    for outcome in [*outcomes, Outcome.combine(outcomes)]:
        rows = mention_rows(outcome)
        assert isinstance(rows, MentionRows)
        assert rows == mentions_of(outcome)
        listed += len(rows)
        # pickled (a task's spill to its buckets) with a declaration's repeated values as dictionaries: the same rows
        assert pickle.loads(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)) == rows
        if len(rows):             # many of them: packed (a declaration's repeated values as dictionaries)
            many = MentionRows(pa.concat_tables([rows.table] * (PACK_FROM // len(rows) + 1)))
            assert pa.types.is_dictionary(MentionRows.packed(many.table).schema.field("slot").type)
            assert pickle.loads(pickle.dumps(MentionRows(MentionRows.packed(many.table)))).table.equals(many.table)
    mentions = mentions_of(Outcome.combine(outcomes))
    assert listed > 1000 and any(m.open_contract for m in mentions) and any(m.subrogated_allowance_cents
                                                                            for m in mentions)
    assert any(m.subrogated_months for m in mentions) and any(not m.open_contract for m in mentions)


def test_a_runs_fresh_mentions_read_as_columns_are_those_the_reference_keeps(pseudonyms):
    """Of mentions in any order, with a person listed twice by one declaration (another month, other flags) and
    declarations the register already holds: the same mentions kept, each (declaration, person) once, by
    declaration, person and month; none when nothing is fresh."""
    files = sorted(BUNDLED.rglob("*.dsn"))
    mentions = mentions_of(Outcome.combine([process_file(str(path), DEFAULT_RULES, pseudonyms) for path in files]))
    twice = [replace(m, month="2024-12", open_contract=not m.open_contract, subrogated_allowance_cents=7)
             for m in mentions[::5]]
    shuffled = [*mentions, *twice]
    random.Random(3).shuffle(shuffled)
    digests = sorted({m.digest for m in mentions})
    for fresh in (set(digests), set(digests[::2]), set()):
        expected = fresh_mentions(shuffled, fresh)
        assert fresh_mention_rows(shuffled, fresh) == expected
        assert fresh_mention_rows(MentionRows(mention_table(shuffled)), fresh) == expected
    kept = fresh_mentions(shuffled, set(digests))
    assert len(digests) > 5 and len(kept) < len(shuffled) and any(m.month == "2024-12" for m in kept)

