"""What the console shows, read from the run's outputs, the register and the corrections store."""
from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Mapping

import pyarrow.compute as pc
import pyarrow.dataset as ds

from gateway.gate.officer import load_answers
from gateway.layout import RunLayout
from gateway.publish.history import runs as history_runs
from gateway.values import NATURES_FR, euros, percent
from gateway.versioning import store as register_store


def _table(path: Path, columns: list[str] | None = None):
    if not path.exists() or not any(path.rglob("*.parquet")):
        return None
    return ds.dataset(str(path), format="parquet", partitioning="hive").to_table(columns=columns)


def run_folders(out: Path) -> list[Path]:
    """The folders holding a run's outputs: the output folder itself (batch runs) and each watch-mode batch
    (``batches/NNNNNN``), those with a manifest only, oldest batch first and the output folder last."""
    batches = out / "batches"
    folders = sorted(p for p in batches.iterdir() if (p / "run.json").exists()) if batches.is_dir() else []
    return folders + ([out] if RunLayout.of(out).manifest.exists() else [])


def runs_index(out: Path) -> list[dict]:
    """Every run recorded in the output folder's history (``gateway.publish.history.runs``)."""
    return history_runs(RunLayout.of(out).history)


def run_summary(out: Path) -> dict:
    """The latest run of the folder: its manifest and metrics, found in the output folder or the latest batch."""
    latest = max(run_folders(out), default=None,
                 key=lambda folder: (json.loads((folder / "run.json").read_text()).get("as_of", ""), str(folder)))
    if latest is None:
        return {"manifest": {}, "metrics": {}, "folder": None}
    metrics_path = latest / "report" / "metrics.json"
    return {"manifest": json.loads((latest / "run.json").read_text()),
            "metrics": json.loads(metrics_path.read_text()) if metrics_path.exists() else {},
            "folder": "." if latest == out else latest.relative_to(out).as_posix()}


def quarantine_by_declarant(out: Path) -> list[dict]:
    """Quarantine and warnings by declarant and rule, over every run folder (each watch batch has its own)."""
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for folder in run_folders(out):
        for dataset in ("quarantine", "warnings"):
            table = _table(folder / dataset, ["declarant_id", "rule_id", "explain", "lines"])
            if table is None:
                continue
            grouped = table.group_by(["declarant_id", "rule_id", "explain"]).aggregate([("lines", "sum"),
                                                                                       ("lines", "count")])
            for row in grouped.to_pylist():
                key = (row["declarant_id"] or "inconnu", row["rule_id"], row["explain"],
                       "quarantaine" if dataset == "quarantine" else "avertissement")
                counts[key][0] += row["lines_count"]
                counts[key][1] += row["lines_sum"]
    rows = [{"declarant_id": key[0], "rule_id": key[1], "explain": key[2], "kind": key[3], "records": records,
             "lines": lines} for key, (records, lines) in counts.items()]
    return sorted(rows, key=lambda r: (r["declarant_id"], r["rule_id"], r["kind"]))


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


REVIEW_PAGE_SIZE = 25
BENEFIT_LABELS = {"AL": "aide au logement", "RSA": "RSA", "PA": "prime d'activité"}
# Estimated overpayment bands (cents): [low, high).
BANDS = {"lt1000": ("moins de 1 000 €", 0, 100000), "1000-3000": ("de 1 000 à 3 000 €", 100000, 300000),
         "gt3000": ("plus de 3 000 €", 300000, None)}
SORTS = {"amount": "montant (le plus élevé d'abord)", "age": "ancienneté (la plus ancienne d'abord)",
         "benefit": "prestation"}
ASSIGNED = {"": "toutes", "me": "mes décisions", "none": "non attribuées"}
_SIRET_OR_SIREN = re.compile(r"[0-9]{9}([0-9]{5})?")
_USERNAME = re.compile(r"[A-Za-z0-9._-]{2,40}")


@dataclass(frozen=True)
class ReviewQuery:
    """The review queue's filters, sort and page, from the URL: a value that is not one of the known ones is
    dropped (never echoed back)."""

    benefit: str = ""
    band: str = ""
    declarant: str = ""
    min_days: int = 0
    assignee: str = ""          # "", "me", "none" or a supervisor's user name
    sort: str = "amount"
    page: int = 1
    claimant: bool = False      # only the claimant searched for (kept in the session, never in the URL)

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> "ReviewQuery":
        def number(name: str, high: int) -> int:
            value = str(params.get(name, ""))
            return min(int(value), high) if value.isdigit() and len(value) < 7 else 0
        declarant = str(params.get("declarant", "")).replace(" ", "")
        assignee = str(params.get("assignee", ""))
        return cls(benefit=str(params.get("benefit", "")) if params.get("benefit") in BENEFIT_LABELS else "",
                   band=str(params.get("band", "")) if params.get("band") in BANDS else "",
                   declarant=declarant if _SIRET_OR_SIREN.fullmatch(declarant) else "",
                   min_days=number("min_days", 3650),
                   assignee=assignee if assignee in ASSIGNED or _USERNAME.fullmatch(assignee) else "",
                   sort=str(params.get("sort")) if params.get("sort") in SORTS else "amount",
                   page=max(1, number("page", 100000)), claimant=params.get("claimant") == "1")

    def link(self, **changes) -> dict:
        """The query string of this query with ``changes`` (for page and sort links)."""
        query = replace(self, **changes)
        values = {"benefit": query.benefit, "band": query.band, "declarant": query.declarant,
                  "min_days": query.min_days or "", "assignee": query.assignee, "sort": query.sort,
                  "page": query.page, "claimant": "1" if query.claimant else ""}
        return {name: value for name, value in values.items() if value not in ("", None)}


def _declarants_of(register: Path, queue: list[dict]) -> dict[str, tuple[str, ...]]:
    """Decision id -> the declarants of the versions that changed its base."""
    wanted = {version for d in queue for version in (d["versions_added"] or "").split()}
    if not wanted:
        return {}
    by_version = {v["version_id"]: v["declarant_id"] for v in register_store.load_all(register, "versions")
                  if v["version_id"] in wanted}
    return {d["decision_id"]: tuple(sorted({by_version[v] for v in (d["versions_added"] or "").split()
                                             if v in by_version})) for d in queue}


def _kept(row: dict, query: ReviewQuery, username: str, claimant: str | None) -> bool:
    low, high = BANDS[query.band][1:] if query.band else (0, None)
    assignee = {"me": username, "none": ""}.get(query.assignee, query.assignee)
    return ((not query.benefit or row["benefit"] == query.benefit)
            and low <= row["overpayment_cents"] and (high is None or row["overpayment_cents"] < high)
            and (not query.declarant or any(d.startswith(query.declarant) for d in row["declarants"]))
            and row["days"] >= query.min_days
            and (not query.assignee or row["assignee"] == assignee)
            and (not query.claimant or row["person_key"] == claimant))


def review_page(register: Path, query: ReviewQuery, *, assigned: dict[str, str], username: str, today: date,
                claimant: str | None = None) -> dict:
    """One page of the REVIEW_CAP decisions waiting for an officer, filtered and sorted on the server."""
    queue = review_queue(register)
    declarants = _declarants_of(register, queue)
    rows = []
    for d in queue:
        row = {**d, "overpayment_cents": -d["estimated_impact_cents"],
               "days": (today - date.fromisoformat(d["as_of"][:10])).days,
               "declarants": declarants.get(d["decision_id"], ()), "assignee": assigned.get(d["decision_id"], ""),
               "benefit_label": BENEFIT_LABELS.get(d["benefit"], d["benefit"])}
        if _kept(row, query, username, claimant):
            rows.append(row)
    order = {"amount": lambda r: (-r["overpayment_cents"], r["decision_id"]),
             "age": lambda r: (-r["days"], -r["overpayment_cents"], r["decision_id"]),
             "benefit": lambda r: (r["benefit"], -r["overpayment_cents"], r["decision_id"])}[query.sort]
    rows.sort(key=order)
    pages = max(1, math.ceil(len(rows) / REVIEW_PAGE_SIZE))
    page = min(query.page, pages)
    return {"rows": rows[(page - 1) * REVIEW_PAGE_SIZE: page * REVIEW_PAGE_SIZE], "total": len(rows),
            "waiting": len(queue), "page": page, "pages": pages}


def decision_ids(register: Path) -> set[str]:
    return {d["decision_id"] for d in register_store.load_all(register, "decisions")}


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


def disputable(versions: list[dict]) -> dict[str, tuple[str, str, str]]:
    """The resource months a request can be opened on, by the form value that names each (declarant, nature,
    month): the page offers these, and the server accepts only these."""
    return {f"{v['declarant_id']}|{v['nature']}|{v['month']}": (v["declarant_id"], v["nature"], v["month"])
            for v in versions}


def timeline_chart(versions: list[dict]) -> str:
    """Net social amount of each month, one line per declarant and nature, a marker at each version."""
    if not versions:
        return ""
    from gateway.publish.charts import timeline_chart as chart
    series: dict[str, dict[str, float]] = defaultdict(dict)
    earlier: list[tuple[str, float]] = []
    for v in sorted(versions, key=lambda v: v["version"]):
        points = series[f"{v['declarant_id']} {v['nature']}"]
        if v["month"] in points:
            earlier.append((v["month"], points[v["month"]]))          # a value later revised
        points[v["month"]] = (v["net_social_cents"] or 0) / 100
    return chart(sorted({v["month"] for v in versions}), dict(sorted(series.items())), earlier,
                 title="Montant net social par mois : valeur actuelle, et les valeurs révisées depuis",
                 revised_label="valeur antérieure (révisée)")


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


DECISIONS_FR = {"REGULARISE": "droit recalculé avec les nouvelles valeurs", "FREEZE_DE_MINIMIS": "écart trop faible : base inchangée",
                "REVIEW_CAP": "en attente de l'examen d'un agent", "HOLD_CORRECTION": "en attente : demande de correction en cours",
                "HOLD_UNSTABLE": "en attente : ressources encore susceptibles de changer", "LAPSED": "trop ancien : rien n'est réclamé",
                "DROITS_FIGES": "droits figés : rien n'est réclamé ni versé", "OFFICER_REGULARISE": "recalculé après l'examen d'un agent",
                "OFFICER_KEEP_FROZEN": "base maintenue après l'examen d'un agent",
                "OFFICER_SPREAD": "trop-perçu étalé après l'examen d'un agent"}


def access_document(out: Path, register: Path, person_key: str) -> dict:
    """The right-of-access export as a claimant reads it: French labels, euros, months in words (no code, no cents)."""
    from gateway.gate.notices import CAUSES_FR
    from gateway.months import month_fr
    found = person(out, register, person_key)
    return {
        "versions": [{"mois": month_fr(v["month"]), "declarant": v["declarant_id"],
                      "nature": NATURES_FR.get(v["nature"], v["nature"]), "version": v["version"],
                      "connue_le": v["transaction_time"][:10], "cause": CAUSES_FR.get(v["cause"], v["cause"]),
                      "net_social": euros(v["net_social_cents"]), "net_imposable": euros(v["net_taxable_cents"])}
                     for v in found["versions"]],
        "signalements": [{"mois": month_fr(f["month"]), "declarant": f["declarant_id"], "explication": f["explain"]}
                         for f in found["flags"]],
        "bases": [{"prestation": BENEFIT_LABELS.get(b["benefit"], b["benefit"]), "mois": month_fr(b["reference_month"]),
                   "periode": f"{month_fr(b['window_first'])} à {month_fr(b['window_last'])}",
                   "montant": euros(b["base_cents"]),
                   "part_flottante": percent(b["floating_share"] or 0, 0)} for b in found["bases"]],
        "decisions": [{"prestation": BENEFIT_LABELS.get(d["benefit"], d["benefit"]), "mois": month_fr(d["reference_month"]),
                       "decision": DECISIONS_FR.get(d["kind"], d["kind"]), "le": d["as_of"][:10],
                       "explication": d["explain"]} for d in found["decisions"]],
    }
