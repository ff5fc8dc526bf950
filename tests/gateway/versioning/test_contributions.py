"""A declaration's contributions to the register (gateway.versioning.register.contributions_of), read from the
records' columns, are those the records give one by one: the reference below sums the records of each (declaration,
key) as objects, keeps the first copy of a declaration received twice, and takes the slot of its first record."""
import shutil
from dataclasses import replace

from fixtures.generator import Rates, generate
from gateway.ingest import process_file
from gateway.records import Cause, Outcome, ResourceNature
from gateway.validate.registry import DEFAULT_RULES
from gateway.versioning.columns import contribution_rows
from gateway.versioning.register import AMOUNTS, Contribution, contributions_of, slot_of
from schemas.records import RESOURCE_MONTH, ResourceRows


def _reference(records) -> list[Contribution]:
    records = list(records)
    copies: dict[str, tuple[str, str]] = {}
    for record in records:
        copies[record.declaration_digest] = min(copies.get(record.declaration_digest, (record.file,
                                                                                      record.declaration_id)),
                                                (record.file, record.declaration_id))
    grouped: dict[tuple, list] = {}
    for record in records:
        if (record.file, record.declaration_id) == copies[record.declaration_digest]:
            key = (record.declaration_digest, record.person_key, record.declarant_id, record.nature.value,
                   record.month)
            grouped.setdefault(key, []).append(record)
    out = []
    for (digest, person_key, declarant_id, nature, month), group in sorted(grouped.items()):
        sums = {}
        for name in AMOUNTS:
            values = [getattr(r, name) for r in group if getattr(r, name) is not None]
            sums[name] = sum(values) if values else None
        spanning = any(r.nature is ResourceNature.DAILY_ALLOWANCE and r.period_start and r.period_end and
                       (r.period_start.year, r.period_start.month) != (r.period_end.year, r.period_end.month)
                       for r in group)
        out.append(Contribution(**sums, person_key=person_key, nir=group[0].nir, declarant_id=declarant_id,
                                nature=nature, month=month, slot=slot_of(group[0]), digest=digest,
                                causes="+".join(sorted({r.cause.value for r in group})),
                                payment_count=sum(r.payment_count for r in group), spanning=spanning))
    return out


def test_contributions_from_columns_are_those_the_records_give_one_by_one(tmp_path, pseudonyms):
    """Generated flows of both kinds with defects (regularisations, back pay, daily allowances over two months), a
    file received twice under another name: the same contributions, in the same order, from records held as
    columns, from records as objects, and by the reference."""
    generate(tmp_path / "flows", people=50, employers=3, bodies=2, months=3, seed=23, rates=Rates(defects=0.1))
    files = sorted((tmp_path / "flows").rglob("*.dsn"))
    shutil.copy(files[0], files[0].with_name("copie_" + files[0].name))      # sorts before: its copy is the one kept
    files.append(files[0].with_name("copie_" + files[0].name))
    outcome = Outcome.combine([process_file(str(path), DEFAULT_RULES, pseudonyms) for path in files])
    assert isinstance(outcome.resources, ResourceRows)
    records = tuple(outcome.resources)
    expected = _reference(records)
    assert contributions_of(outcome.resources) == contributions_of(records) == expected
    assert contribution_rows(outcome.resources) == contribution_rows(records) == expected      # as columns
    # back pay beside some payments of the same month: keys of several records, amounts summed, causes joined
    back_pay = tuple(replace(r, record_id=f"{index:032d}", cause=Cause.BACK_PAY, gross_cents=1000,
                             net_taxable_cents=None, payment_count=0) for index, r in enumerate(records[::7]))
    both = records + back_pay
    expected = _reference(both)
    assert contributions_of(ResourceRows(RESOURCE_MONTH.table(both))) == contributions_of(both) == expected
    assert contribution_rows(ResourceRows(RESOURCE_MONTH.table(both))) == expected
    # a key whose first record is within one month and whose second spans two: the contribution spans them
    within = tuple(replace(r, record_id=f"w{index:031d}", period_end=r.period_start, payment_count=0)
                   for index, r in enumerate(records) if r.nature is ResourceNature.DAILY_ALLOWANCE)
    assert within and contribution_rows(within + records) == contributions_of(within + records) == \
        _reference(within + records)
    huge = tuple(replace(r, gross_cents=4 * 10 ** 18) for r in both)     # sums beyond int64: as Python sums them
    assert contribution_rows(huge) == contributions_of(huge) == _reference(huge)
    assert any(c.spanning for c in expected) and any(c.causes == "BACK_PAY+PAYMENT" for c in expected)
    assert {c.digest for c in expected} == {r.declaration_digest for r in records}
    assert {c.slot for c in expected} == {slot_of(r) for r in records}
