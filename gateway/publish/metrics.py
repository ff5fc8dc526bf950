"""Run metrics per rule, family and declarant, plus the per-declarant figures kept in the metrics history.

A run computes them in its pipeline, where the records are (``declarant_parts`` and ``run_parts``: each unit of
work's figures, summed per declarant and for the run by the pipeline, ``from_figures``): the driver never loads a dataset.
``run_metrics`` computes the same metrics column-wise from the published datasets (pyarrow): the reference
the pipeline's figures are tested against, and the way to recompute them from an output folder."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from gateway.storage import read_dataset
from schemas.records import RESOURCE_MONTH


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
    """The metrics of a run, from its published datasets."""
    quarantine = _table(out / "quarantine", ["rule_id", "family", "severity", "scope", "lines", "declarant_id",
                                             "explain"])
    warnings = _table(out / "warnings", ["rule_id", "family", "lines", "declarant_id", "explain"])
    resources = _table(out / "resources", ["declarant_id", "person_key", "cause", "net_social_cents",
                                           "net_taxable_cents", "nature"])
    by_rule: dict[str, dict] = {}
    by_family: Counter = Counter()
    by_declarant: dict[str, dict] = defaultdict(_empty_declarant)
    for table, kind in ((quarantine, "quarantine"), (warnings, "warning")):
        if table is not None and table.num_rows:
            _add_findings(table, kind, by_rule, by_family, by_declarant)
    natures = _add_resources(resources, by_declarant) if resources is not None and resources.num_rows else {}
    return _assembled(manifest, by_rule, by_family, by_declarant, natures, _flags_by_rule(out))


def _assembled(manifest: dict, by_rule: dict[str, dict], by_family: Counter, by_declarant: dict[str, dict],
               natures: dict[str, int], flags_by_rule: list[dict]) -> dict:
    read = manifest["lines_read"] or 1
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
        "flags_by_rule": flags_by_rule,
        "as_of": manifest.get("as_of"),
    }


def _flags_by_rule(out: Path) -> list[dict]:
    """Floating flags of the run per rule, with the rule's French sentence."""
    flags = _table(out / "flags", ["rule_id", "score"])
    if flags is None or not flags.num_rows:
        return []
    grouped = flags.group_by("rule_id").aggregate([("score", "count"), ("score", "mean")]).to_pylist()
    return _flag_rows({row["rule_id"]: (row["score_count"], row["score_mean"]) for row in grouped})


def _flag_rows(means: dict[str, tuple[int, float]]) -> list[dict]:
    import gateway.validate.rules  # noqa: F401  (registers the default catalogue)
    from gateway.validate.registry import DEFAULT_RULES
    explain = {rule.id: rule.explain for rule in DEFAULT_RULES}
    return [{"rule_id": rule_id, "flags": count, "mean_score": round(mean, 3), "explain": explain.get(rule_id, "")}
            for rule_id, (count, mean) in sorted(means.items())]


# --- the same figures, computed in the pipeline -------------------------------------------------------------

SCORE_UNIT = 1_000_000           # flag scores summed as integers (millionths): the same sum in any order


def declarant_parts(outcome) -> list[tuple[str, tuple[dict, frozenset]]]:
    """One unit of work's figures per declarant: ``(counts, people)``, summed by the pipeline per declarant."""
    declarants: dict[str, tuple[dict, set]] = {}

    def of(declarant: str | None) -> tuple[dict, set]:
        return declarants.setdefault(declarant or "inconnu", (_empty_declarant(), set()))
    for record in outcome.quarantine:
        figures = of(record.declarant_id)[0]
        figures["quarantine_records"] += 1
        figures["lines_quarantined"] += record.lines or 0
    for record in outcome.warnings:
        of(record.declarant_id)[0]["warnings"] += 1
    for declarant, net_social, net_taxable, person in zip(*_resource_columns(
            outcome.resources, "declarant_id", "net_social_cents", "net_taxable_cents", "person_key")):
        figures, people = of(declarant)
        figures["resources"] += 1
        figures["net_social_cents"] += net_social or 0
        figures["net_taxable_cents"] += net_taxable or 0
        people.add(person)
    return [(declarant, (figures, frozenset(people))) for declarant, (figures, people) in declarants.items()]


def run_parts(outcome) -> dict:
    """One unit of work's figures for the run: findings per rule (records, lines), resources per nature."""
    rules: dict[tuple, list[int]] = {}
    for records, kind in ((outcome.quarantine, "quarantine"), (outcome.warnings, "warning")):
        for record in records:
            entry = rules.setdefault((kind, record.rule_id, record.family, record.explain), [0, 0])
            entry[0] += 1
            entry[1] += record.lines or 0
    natures: dict[str, int] = {}
    for nature in _resource_columns(outcome.resources, "nature")[0]:
        natures[nature] = natures.get(nature, 0) + 1
    return {"rules": rules, "natures": natures}


def _resource_columns(resources, *names: str) -> list[list]:
    """The values of ``names`` of each resource record, column by column (records held as columns are read as they
    are: ``schemas.records.ResourceRows``)."""
    if not resources:
        return [[] for _ in names]
    table = RESOURCE_MONTH.table(resources)
    return [table.column(name).to_pylist() for name in names]


def add_declarant(total: tuple[dict, set], part: tuple[dict, frozenset]) -> tuple[dict, set]:
    """A declarant's figures plus another part of them, in place (people as a set: counted once)."""
    for key, value in part[0].items():
        total[0][key] += value
    total[1].update(part[1])
    return total


def declarant_figures(total: tuple[dict, set]) -> dict:
    """A declarant's summed parts -> its figures as the metrics give them."""
    return {**total[0], "people": len(total[1])}


def add_run(total: dict, part: dict) -> dict:
    """The run's figures plus a unit of work's, in place."""
    for name in ("rules", "natures"):
        target = total.setdefault(name, {})
        for key, value in part.get(name, {}).items():
            if isinstance(value, list):
                current = target.setdefault(key, [0] * len(value))
                target[key] = [a + b for a, b in zip(current, value)]
            else:
                target[key] = target.get(key, 0) + value
    return total


def from_figures(manifest: dict, by_declarant: dict[str, dict], run: dict,
                 flags: dict[str, list[int]]) -> dict:
    """The run's metrics from the pipeline's figures: the same as ``run_metrics`` on the published datasets.
    ``flags``: floating flags per rule, ``[count, sum of scores in SCORE_UNIT]``."""
    by_rule: dict[str, dict] = {}
    by_family: Counter = Counter()
    for kind in ("quarantine", "warning"):
        for (found, rule_id, family, explain), (records, lines) in sorted(run.get("rules", {}).items()):
            if found != kind:
                continue
            entry = by_rule.setdefault(rule_id, {"rule_id": rule_id, "family": family, "explain": explain,
                                                 "records": 0, "lines": 0, "kind": kind})
            entry["records"] += records
            entry["lines"] += lines
            by_family[family] += records
    declarants: dict[str, dict] = defaultdict(_empty_declarant)
    for declarant, figures in by_declarant.items():
        declarants[declarant] = {**_empty_declarant(), **figures}
    means = {rule_id: (count, total / SCORE_UNIT / count) for rule_id, (count, total) in flags.items() if count}
    return _assembled(manifest, by_rule, by_family, declarants, dict(run.get("natures", {})), _flag_rows(means))


__all__ = ["add_declarant", "add_run", "declarant_figures", "declarant_parts", "from_figures", "run_metrics",
           "run_parts"]
