"""The run report's drill-down: each rule's pass rate, and one page per rule listing the records it took out or
warned about (report/rules/<rule>.html), from the published quarantine and warnings."""
from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from gateway.storage import read_dataset

RULE_ID = re.compile(r"DRM-[A-Z]{2,3}-[0-9]{3}")
LISTED = 500                     # records listed on a rule's page; the page says how many more there are
COLUMNS = ("rule_id", "file", "line", "declarant_id", "declaration_id", "rubric", "declared_value",
           "payroll_number", "scope", "lines")
# What a rule checks one at a time: a file for the file rules, a declarant for its history, else a declaration.
UNITS = {"file": ("files", "fichiers"), "envoi": ("files", "fichiers"), "history": ("declarants", "déclarants")}


def sent_name(label: str) -> str:
    """The name of the file the declarant sent, without the gateway's folders."""
    return label.rsplit("/", 1)[-1]


def findings(out: Path) -> pa.Table | None:
    """The run's quarantine records and warnings (the columns a rule's page shows), in rule, file, line order."""
    tables = []
    for dataset, kind in (("quarantine", "quarantine"), ("warnings", "warning")):
        table = read_dataset(out / dataset)
        if table is not None and table.num_rows:
            present = [name for name in COLUMNS if name in table.column_names]
            table = table.select(present)
            tables.append(table.append_column("kind", pa.array([kind] * table.num_rows, pa.string())))
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    return table.take(pc.sort_indices(table, [("rule_id", "ascending"), ("file", "ascending"),
                                              ("line", "ascending")])).combine_chunks()


def pass_rates(by_rule: list[dict], findings: pa.Table | None, counts: dict[str, int]) -> list[dict]:
    """Each rule with how many units it failed and the share that passed it: distinct declarations (files, or
    declarants, for rules that check those) with at least one of its findings, out of those checked."""
    failing: dict[str, int] = {}
    if findings is not None:
        unit = pc.if_else(pc.is_null(findings.column("declaration_id")), findings.column("file"),
                          pc.binary_join_element_wise(findings.column("file"), findings.column("declaration_id"), "|"))
        keyed = pa.table({"rule_id": findings.column("rule_id"), "unit": unit})
        for row in keyed.group_by("rule_id", use_threads=False).aggregate([("unit", "count_distinct")]).to_pylist():
            failing[row["rule_id"]] = row["unit_count_distinct"]
    rows = []
    for rule in by_rule:
        key, label = UNITS.get(rule["family"], ("declarations", "déclarations"))
        checked = max(counts.get(key, 0), failing.get(rule["rule_id"], 0))
        failed = failing.get(rule["rule_id"], 0)
        rows.append({**rule, "units_failed": failed, "units_checked": checked, "unit": label,
                     "pass_rate": round(1 - failed / checked, 4) if checked else 1.0})
    return rows


def rule_page_name(rule_id: str) -> str | None:
    """The file name of a rule's page, for a rule id of the catalogue's form only."""
    return f"{rule_id}.html" if RULE_ID.fullmatch(rule_id) else None


def rule_pages(findings: pa.Table | None) -> dict[str, tuple[int, list[dict]]]:
    """Per rule id: how many records, and the first LISTED of them (file, line, declarant, value…)."""
    pages: dict[str, tuple[int, list[dict]]] = {}
    if findings is None:
        return pages
    start = 0
    for run in pc.run_end_encode(findings.column("rule_id")).chunks:
        for rule_id, end in zip(run.values.to_pylist(), run.run_ends.to_pylist()):
            rows = findings.slice(start, min(end - start, LISTED)).to_pylist()
            for row in rows:
                row["file"] = sent_name(row["file"])
            pages[rule_id] = (end - start, rows)
            start = end
    return pages
