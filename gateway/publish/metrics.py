"""Run metrics computed column-wise from the published datasets (pyarrow), per rule, family and
declarant, plus the per-declarant figures kept in the metrics history."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from gateway.storage import read_dataset


def _table(folder: Path, columns: list[str]) -> pa.Table | None:
    return read_dataset(folder, columns, partitioning="hive")


def _empty_declarant() -> dict:
    return {"quarantine_records": 0, "lines_quarantined": 0, "warnings": 0, "resources": 0, "people": 0,
            "net_social_cents": 0, "net_taxable_cents": 0}


def _add_findings(table: pa.Table, kind: str, by_rule: dict[str, dict], by_family: Counter,
                  by_declarant: dict[str, dict]) -> None:
    """Quarantine records or warnings counted per rule, family and declarant."""
    table = table.set_column(table.column_names.index("declarant_id"), "declarant_id",
                             pc.fill_null(table.column("declarant_id"), "inconnu"))
    for row in table.group_by(["rule_id", "family", "explain"], use_threads=False).aggregate(
            [("lines", "count"), ("lines", "sum")]).to_pylist():
        entry = by_rule.setdefault(row["rule_id"], {"rule_id": row["rule_id"], "family": row["family"],
                                                    "explain": row["explain"], "records": 0, "lines": 0,
                                                    "kind": kind})
        entry["records"] += row["lines_count"]
        entry["lines"] += row["lines_sum"] or 0
        by_family[row["family"]] += row["lines_count"]
    for row in table.group_by("declarant_id", use_threads=False).aggregate(
            [("lines", "count"), ("lines", "sum")]).to_pylist():
        figures = by_declarant[row["declarant_id"]]
        if kind == "quarantine":
            figures["quarantine_records"] += row["lines_count"]
            figures["lines_quarantined"] += row["lines_sum"] or 0
        else:
            figures["warnings"] += row["lines_count"]


def _add_resources(resources: pa.Table, by_declarant: dict[str, dict]) -> dict[str, int]:
    """Resources counted per declarant (people, records, amounts); returns the count per nature."""
    grouped = resources.group_by("declarant_id").aggregate([
        ("person_key", "count_distinct"), ("person_key", "count"),
        ("net_social_cents", "sum"), ("net_taxable_cents", "sum")])
    for row in grouped.to_pylist():
        entry = by_declarant[row["declarant_id"]]
        entry["people"] = row["person_key_count_distinct"]
        entry["resources"] = row["person_key_count"]
        entry["net_social_cents"] = row["net_social_cents_sum"] or 0
        entry["net_taxable_cents"] = row["net_taxable_cents_sum"] or 0
    return {item["values"]: item["counts"] for item in pc.value_counts(resources.column("nature")).to_pylist()}


def run_metrics(out: Path, manifest: dict) -> dict:
    quarantine = _table(out / "quarantine", ["rule_id", "family", "severity", "scope", "lines", "declarant_id",
                                             "explain"])
    warnings = _table(out / "warnings", ["rule_id", "family", "lines", "declarant_id", "explain"])
    resources = _table(out / "resources", ["declarant_id", "person_key", "cause", "net_social_cents",
                                           "net_taxable_cents", "nature"])
    read = manifest["lines_read"] or 1
    by_rule: dict[str, dict] = {}
    by_family: Counter = Counter()
    by_declarant: dict[str, dict] = defaultdict(_empty_declarant)
    for table, kind in ((quarantine, "quarantine"), (warnings, "warning")):
        if table is not None and table.num_rows:
            _add_findings(table, kind, by_rule, by_family, by_declarant)
    natures = _add_resources(resources, by_declarant) if resources is not None and resources.num_rows else {}
    top = sorted(((d, m) for d, m in by_declarant.items() if m["lines_quarantined"]),
                 key=lambda item: (-item[1]["lines_quarantined"], item[0]))[:10]
    return {
        "run_id": manifest.get("run_id"),
        "volumes": {key: manifest[key] for key in ("files", "declarations", "lines_read", "lines_used",
                                                   "lines_ignored", "lines_quarantined", "resources",
                                                   "quarantine_records", "warnings")},
        "rates": {"acceptance": round(1 - manifest["lines_quarantined"] / read, 4),
                  "quarantine": round(manifest["lines_quarantined"] / read, 4)},
        "by_rule": sorted(by_rule.values(), key=lambda e: (-e["records"], e["rule_id"])),
        "by_family": dict(sorted(by_family.items())),
        "by_declarant": {key: by_declarant[key] for key in sorted(by_declarant)},
        "top_failing_declarants": [{"declarant_id": d, **m} for d, m in top],
        "resources_by_nature": dict(sorted(natures.items())),
        "floating": manifest.get("floating") or {"months": 0, "revised": 0, "rate": 0.0, "by_declarant": {},
                                                 "by_nature": {}},
        "flags_by_rule": _flags_by_rule(out),
        "as_of": manifest.get("as_of"),
    }


def _flags_by_rule(out: Path) -> list[dict]:
    """Floating flags of the run per rule, with the rule's French sentence."""
    import gateway.validate.rules  # noqa: F401  (registers the default catalogue)
    from gateway.validate.registry import DEFAULT_RULES
    flags = _table(out / "flags", ["rule_id", "score"])
    if flags is None or not flags.num_rows:
        return []
    explain = {rule.id: rule.explain for rule in DEFAULT_RULES}
    grouped = flags.group_by("rule_id").aggregate([("score", "count"), ("score", "mean")]).to_pylist()
    return sorted(({"rule_id": row["rule_id"], "flags": row["score_count"], "mean_score": round(row["score_mean"], 3),
                    "explain": explain.get(row["rule_id"], "")} for row in grouped), key=lambda r: r["rule_id"])


__all__ = ["run_metrics"]
