"""What-if: replay the same flows under several policies and compare what the gate would have done.

Each policy gets its own output folder and register; the inputs are replayed in arrival order, one run
per arrival date (what a daily operation would have done), so that bases are published and later
revised as they were. The comparison reads each policy's decisions.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from gateway.options import Settings
from gateway.policy import load_policy
from gateway.layout import RunLayout
from gateway.run import arrival_groups, run

HELD = ("HOLD_CORRECTION", "HOLD_UNSTABLE")
FROZEN = ("FREEZE_DE_MINIMIS", "LAPSED", "OFFICER_KEEP_FROZEN", "DROITS_FIGES")
APPLIED = ("REGULARISE", "OFFICER_REGULARISE", "OFFICER_SPREAD")
BINS = (0, 5000, 20000, 50000, 100000, 500000)          # overpayment bands, cents


def replay_under(policy_path: str, settings: Settings, out: Path) -> list[dict]:
    """Run the inputs into ``out`` under one policy, one run per arrival date, oldest first."""
    for _, paths in arrival_groups(settings):
        run(replace(settings, inputs=paths, out=str(out), policy=policy_path))
    from gateway.versioning import store
    return store.load_all(RunLayout.of(out).register, "decisions")


def _band(cents: int) -> str:
    for low, high in zip(BINS, BINS[1:]):
        if cents < high:
            return f"{low // 100}-{high // 100} €"
    return f"≥ {BINS[-1] // 100} €"


def summarise(decisions: list[dict]) -> dict:
    kinds = Counter(d["kind"] for d in decisions)
    # A notified overpayment and the event that makes it final are one overpayment: counted once.
    finalised = {d.get("supersedes") for d in decisions if d.get("status") == "FINAL" and d["kind"] in APPLIED}
    counted = [d for d in decisions if not (d["kind"] in APPLIED and d.get("decision_id") in finalised)]

    def effects(kinds_of: tuple[str, ...], sign: int) -> list[int]:
        return [sign * d["estimated_impact_cents"] for d in counted
                if d["kind"] in kinds_of and sign * d["estimated_impact_cents"] > 0]
    indus, arrears = effects(APPLIED, -1), effects(APPLIED, 1)
    return {
        "bases_changed": len({(d["person_key"], d["benefit"], d["reference_month"]) for d in decisions}),
        "indus_raised": len(indus), "indus_euros": round(sum(indus) / 100, 2),
        "arrears_paid": len(arrears), "arrears_euros": round(sum(arrears) / 100, 2),
        "indus_avoided_euros": round(sum(effects(FROZEN, -1)) / 100, 2),
        "arrears_withheld_euros": round(sum(effects(FROZEN, 1)) / 100, 2),
        "frozen": sum(kinds[k] for k in FROZEN), "held": sum(kinds[k] for k in HELD),
        "officer_review": kinds["REVIEW_CAP"],
        "households_affected": len({d["person_key"] for d in decisions}),
        "by_kind": dict(sorted(kinds.items())),
        "indus_by_band": dict(Counter(_band(c) for c in indus)),
    }


def whatif(policies: list[str], settings: Settings, out: Path) -> dict[str, dict]:
    """{policy version: summary} for each policy file, after replaying the inputs under it."""
    loaded = [load_policy(path) for path in policies]          # every file refused before any run
    results = {}
    for index, (path, policy) in enumerate(zip(policies, loaded)):
        label = f"{index + 1}-{policy.version}"
        results[label] = summarise(replay_under(path, settings, out / label))
    return results


ROWS = (("bases_changed", "bases modifiées"), ("indus_raised", "indus émis"), ("indus_euros", "indus (€, estimation)"),
        ("arrears_paid", "rappels versés"), ("arrears_euros", "rappels (€, estimation)"),
        ("frozen", "figées"), ("indus_avoided_euros", "indus évités par le gel (€, estimation)"),
        ("arrears_withheld_euros", "rappels non versés du fait du gel (€, estimation)"),
        ("held", "en attente"), ("officer_review", "à décider par un agent"),
        ("households_affected", "foyers concernés"))


NOTHING_CHANGED = ("Aucune base de référence n'a changé sur ces flux, sous aucune des politiques : il n'y a rien à "
                   "comparer. Les politiques ne diffèrent que lorsque des déclarations révisent des mois déjà pris "
                   "en compte ; rejouez un historique de plusieurs mois.")
SAME_OUTCOMES = "Les politiques comparées donnent exactement les mêmes résultats sur ces flux."


def verdict(results: dict[str, dict]) -> str | None:
    """The sentence to show above the figures when they teach nothing by themselves (None otherwise)."""
    summaries = list(results.values())
    if all(summary["bases_changed"] == 0 for summary in summaries):
        return NOTHING_CHANGED
    if all(summary == summaries[0] for summary in summaries[1:]):
        return SAME_OUTCOMES
    return None


def write_page(results: dict[str, dict], path: Path) -> None:
    """The side-by-side comparison as an HTML page with charts (offline, inline SVG); charts only of figures that
    are not zero under every policy, and a sentence when nothing changed or nothing differs."""
    from gateway.publish.charts import bar_chart
    from gateway.publish.report import render_template
    from gateway.storage import write_text
    charts = {key: bar_chart(list(results), [summary[key] for summary in results.values()], title=label)
              for key, label in ROWS if any(summary[key] for summary in results.values())}
    bands = sorted({band for summary in results.values() for band in summary["indus_by_band"]},
                   key=lambda b: int(b.split("-")[0].strip("≥ €")))
    write_text(path, render_template("whatif.html.j2", results=results, rows=ROWS, charts=charts, bands=bands,
                                     verdict=verdict(results), nothing=verdict(results) == NOTHING_CHANGED))
