"""What the console shows, read from the run's outputs, the register and the corrections store."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds

from gateway.gate.officer import load_answers
from gateway.layout import RunLayout
from gateway.values import euros
from gateway.versioning import store as register_store


def _table(path: Path, columns: list[str] | None = None):
    if not path.exists() or not any(path.rglob("*.parquet")):
        return None
    return ds.dataset(str(path), format="parquet", partitioning="hive").to_table(columns=columns)


def run_summary(out: Path) -> dict:
    layout = RunLayout.of(out)
    manifest = json.loads(layout.manifest.read_text()) if layout.manifest.exists() else {}
    metrics_path = layout.report / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return {"manifest": manifest, "metrics": metrics}


def quarantine_by_declarant(out: Path) -> list[dict]:
    rows = []
    for dataset in ("quarantine", "warnings"):
        table = _table(out / dataset, ["declarant_id", "rule_id", "explain", "lines"])
        if table is None:
            continue
        grouped = table.group_by(["declarant_id", "rule_id", "explain"]).aggregate([("lines", "sum"), ("lines", "count")])
        for row in grouped.to_pylist():
            rows.append({"declarant_id": row["declarant_id"] or "inconnu", "rule_id": row["rule_id"],
                         "explain": row["explain"], "records": row["lines_count"], "lines": row["lines_sum"],
                         "kind": "quarantaine" if dataset == "quarantine" else "avertissement"})
    return sorted(rows, key=lambda r: (r["declarant_id"], r["rule_id"]))


def _latest_decisions(register: Path) -> dict[tuple, dict]:
    latest: dict[tuple, dict] = {}
    for row in sorted(register_store.load_all(register, "decisions"), key=lambda d: d["as_of"]):
        latest[(row["person_key"], row["benefit"], row["reference_month"])] = row
    return latest


def review_queue(register: Path) -> list[dict]:
    """REVIEW_CAP decisions still waiting for an officer (latest on their base, not answered)."""
    answered = load_answers(register)
    queue = [d for d in _latest_decisions(register).values() if d["kind"] == "REVIEW_CAP"
             and d["decision_id"] not in answered]
    return sorted(queue, key=lambda d: (d["estimated_impact_cents"], d["decision_id"]))


def decision(register: Path, decision_id: str) -> dict | None:
    return next((d for d in register_store.load_all(register, "decisions") if d["decision_id"] == decision_id), None)


def person(out: Path, register: Path, person_key: str) -> dict:
    versions = [v for v in register_store.load_all(register, "versions") if v["person_key"] == person_key]
    versions.sort(key=lambda v: (v["month"], v["declarant_id"], v["nature"], v["version"]))

    def mine(dataset: str) -> list[dict]:
        table = _table(out / dataset)
        if table is None:
            return []
        return table.filter(pc.field("person_key") == person_key).to_pylist()
    decisions = [d for d in register_store.load_all(register, "decisions") if d["person_key"] == person_key]
    return {"versions": versions, "flags": sorted(mine("flags"), key=lambda f: (f["month"], f["rule_id"])),
            "bases": sorted(mine("bases"), key=lambda b: b["benefit"]),
            "decisions": sorted(decisions, key=lambda d: (d["as_of"], d["benefit"]))}


def timeline_chart(versions: list[dict]) -> str:
    """Net social amount of each month, one line per declarant and nature, a marker at each version."""
    if not versions:
        return ""
    from gateway.publish.charts import plain_text, plt, svg_of
    series: dict[tuple, dict[str, int]] = defaultdict(dict)
    earlier: list[tuple[str, float]] = []
    for v in sorted(versions, key=lambda v: v["version"]):
        points = series[(v["declarant_id"], v["nature"])]
        if v["month"] in points:
            earlier.append((v["month"], points[v["month"]]))          # a value later revised
        points[v["month"]] = (v["net_social_cents"] or 0) / 100
    months = sorted({v["month"] for v in versions})
    fig, ax = plt.subplots(figsize=(8, 3))
    for (declarant, nature), points in sorted(series.items()):
        xs = [m for m in months if m in points]
        ax.plot(xs, [points[m] for m in xs], marker="o", label=plain_text(f"{declarant} {nature}"))
    if earlier:
        ax.scatter([m for m, _ in earlier], [a for _, a in earlier], marker="x", s=80, color="#a40000",
                   label="valeur antérieure (révisée)", zorder=5)
    ax.set_title("Montant net social par mois : valeur actuelle, et × les valeurs révisées depuis")
    ax.tick_params(axis="x", labelrotation=45)
    ax.legend(fontsize=7)
    return svg_of(fig, ax)


def export(out: Path, register: Path, person_key: str, requests: list[dict], masked_nir: str) -> dict:
    """Everything the gateway holds on a person, with the explanations (right of access, CRPA L311-3-1)."""
    data = person(out, register, person_key)
    return {
        "personne": {"nir": masked_nir, "pseudonyme": person_key},
        "explication": "Ressources déclarées par les employeurs (DSN) et organismes (PASRAU), toutes leurs versions, "
                       "les signalements de ressources susceptibles de changer, les bases de ressources calculées "
                       "pour chaque prestation, les décisions prises sur leurs modifications, et les demandes de "
                       "correction. Montants en centimes d'euro.",
        "versions": [{k: v[k] for k in ("month", "declarant_id", "nature", "version", "transaction_time", "cause",
                                       "net_social_cents", "net_taxable_cents", "declaration_id")} for v in data["versions"]],
        "signalements": [{k: f[k] for k in ("month", "declarant_id", "rule_id", "score", "explain")} for f in data["flags"]],
        "bases": [{**{k: b[k] for k in ("benefit", "reference_month", "window_first", "window_last", "amount_kind",
                                        "base_cents", "floating_share", "monthly_cents")},
                   "montant": euros(b["base_cents"])} for b in data["bases"]],
        "decisions": [{k: d[k] for k in ("benefit", "reference_month", "kind", "rule_id", "explain",
                                         "estimated_impact_cents", "as_of")} for d in data["decisions"]],
        "demandes_de_correction": requests,
    }
