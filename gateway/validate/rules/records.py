"""The canonical records of a batch checked against the published schema: a vectorised pass over the
batch (the same declared checks as pandera's), then pandera's validate() only when something fails, to
report exactly what. What fails takes its person block out, with the reason; the error
text of pandera (which holds values) is never logged."""
from __future__ import annotations

from typing import Iterator, Sequence

from gateway.records import Origin, ResourceMonth, Severity
from gateway.validate.registry import Finding, Target, rule


@rule("DRM-SCH-001", family="schema", severity=Severity.PERSON, target=Target.BATCH,
      explain="Un montant ou une valeur de ce mois sort des bornes plausibles du registre (par exemple un montant "
              "mensuel supérieur à un million d'euros) : les données de cette personne sont écartées.",
      reference="Schéma publié resource_month (pandera)")
def records_fit_the_published_schema(records: Sequence[ResourceMonth]) -> Iterator[Finding]:
    from schemas.records import RESOURCE_MONTH
    if not records:
        return
    table = RESOURCE_MONTH.table(records)
    if RESOURCE_MONTH.fast_valid(table):            # vectorised pass; pandera only reports what fails
        return
    import polars as pl                        # pandera and polars only when something fails
    from pandera.errors import SchemaErrors
    frame = pl.from_arrow(table)
    try:
        RESOURCE_MONTH.pandera.validate(frame, lazy=True)
    except SchemaErrors as errors:
        failures = errors.failure_cases.select("index", "column", "check").drop_nulls("index")
        for index, column, check in failures.unique(maintain_order=True).iter_rows():
            record = records[index]
            yield Finding(Origin(record.file, record.first_line, record.last_line), column,
                          f"{column} fails {check}: expected the published schema")
