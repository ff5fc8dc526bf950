"""The claimant's notice of a gate decision that changes, or explicitly keeps, what they are owed.

A notice says, in French: which employer or paying body declared the new amounts and why (late declaration,
régularisation, annule-et-remplace…), the months with their amounts before and after, the estimated effect,
the recovery plan of an overpayment, the legal basis, how to dispute the data and by when, and the appeal
route. It names the claimant only by their pseudonym (the paying system addresses the letter); no NIR, name
or birth date. ``notice_of`` builds its content; ``gateway.publish.notices`` writes it (JSON, HTML, text).
"""
from __future__ import annotations

from datetime import date, timedelta

from gateway.months import day_of_instant, month_fr
from gateway.records import GateDecision, ReferenceBase, VersionCause
from gateway.values import euros
from gateway.versioning.view import PersonView

# Decisions a claimant is told about: a change applied (or to be), or a change explicitly not applied.
NOTICE_KINDS = ("REGULARISE", "OFFICER_REGULARISE", "OFFICER_SPREAD", "OFFICER_KEEP_FROZEN", "DROITS_FIGES")
CAUSES_FR = {
    VersionCause.INITIAL.value: "première déclaration du mois",
    VersionCause.LATE.value: "déclaration arrivée après la date limite",
    VersionCause.REPLACEMENT.value: "déclaration « annule et remplace »",
    VersionCause.PAS_REGULARISATION.value: "régularisation du prélèvement à la source",
    VersionCause.BACK_PAY.value: "rappel de salaire déclaré pour une période antérieure",
    VersionCause.NET_SOCIAL_CORRECTION.value: "régularisation du montant net social",
    VersionCause.PASRAU_CORRECTION.value: "correction déclarée par l'organisme payeur",
    VersionCause.FORCED.value: "valeur fixée après une demande de correction",
}
APPEAL = ("Vous pouvez contester cette décision devant la commission de recours amiable (CRA) de votre caisse dans "
          "un délai de deux mois à compter de sa notification, puis, en cas de rejet, devant le tribunal judiciaire "
          "(pôle social) dans un délai de deux mois.")
LEGAL_BASIS = {
    "REGULARISE": "CSS L553-2 (récupération des indus par retenues) ; CSS R133-9-2 (notification et droit de "
                  "rectification des données) ; CRPA L311-3-1 (décision prise par un traitement automatisé)",
    "OFFICER_REGULARISE": "CSS L553-2 ; CSS R133-9-2 ; décision d'un agent après examen",
    "OFFICER_SPREAD": "CSS L553-2 et D553-1 (barème des retenues) ; CSS R133-9-2 ; décision d'un agent après examen",
    "OFFICER_KEEP_FROZEN": "Politique des effets figés ; décision d'un agent après examen",
    "DROITS_FIGES": "Rapport IGAS, §[164] et §[167] (droits figés) ; politique de la passerelle",
}


def correction_channel(flow: str) -> str:
    """How data declared by a source is corrected: DSN data through the social-rights portal's mediation with the
    employer, PASRAU data directly with the paying body."""
    if flow == "DSN":
        return "médiation du portail numérique des droits sociaux (PNDS)"
    return "envoi direct à l'organisme (PASRAU)"


def _sources(view: PersonView, versions_added: str) -> list[dict]:
    """Who declared the amounts that changed the base, and why: one entry per declarant and cause."""
    added = set(versions_added.split())
    found: dict[tuple[str, str], set[str]] = {}
    for versions in view.versions.values():
        for version in versions:
            if version.version_id in added:
                cause = getattr(version.cause, "value", version.cause)
                found.setdefault((version.declarant_id, cause), set()).add(version.month)
    out = []
    for (declarant_id, cause), months in sorted(found.items()):
        flow = view.flows.get(declarant_id, "DSN")
        out.append({"declarant_id": declarant_id, "kind": "employeur" if flow == "DSN" else "organisme payeur",
                    "flow": flow, "cause": cause, "cause_label": CAUSES_FR.get(cause, cause),
                    "months": [month_fr(m) for m in sorted(months)], "how_to_dispute": correction_channel(flow)})
    return out


def _months(reference: ReferenceBase, now: ReferenceBase) -> list[dict]:
    before = dict(item.split(":") for item in reference.monthly_cents.split())
    after = dict(item.split(":") for item in now.monthly_cents.split())
    return [{"month": month, "label": month_fr(month), "before_cents": int(before.get(month, 0)),
             "after_cents": int(after.get(month, 0)), "before": euros(int(before.get(month, 0))),
             "after": euros(int(after.get(month, 0)))}
            for month in sorted(set(before) | set(after)) if int(before.get(month, 0)) != int(after.get(month, 0))]


def notice_of(decision: GateDecision, reference: ReferenceBase, now: ReferenceBase, view: PersonView, label: str,
              contradictory_days: int) -> dict | None:
    """The notice of a decision, or None when the claimant has nothing to be told (pending, or nothing changes)."""
    if decision.kind not in NOTICE_KINDS or decision.status == "PENDING":
        return None
    impact = decision.estimated_impact_cents
    deadline = None
    if decision.status == "NOTIFIED":
        deadline = (date.fromisoformat(day_of_instant(decision.as_of)) + timedelta(days=contradictory_days)).isoformat()
    effect = ("un trop-perçu (indu) estimé de " + euros(-impact) if impact < 0 else
              "un rappel estimé de " + euros(impact) if impact > 0 else "aucun effet estimé")
    return {
        "decision_id": decision.decision_id, "person_key": decision.person_key, "benefit": decision.benefit,
        "benefit_label": label, "reference_month": decision.reference_month,
        "reference_month_label": month_fr(decision.reference_month), "kind": decision.kind,
        "status": decision.status, "date": day_of_instant(decision.as_of),
        "date_label": f"{date.fromisoformat(day_of_instant(decision.as_of)):%d/%m/%Y}", "rule_id": decision.rule_id,
        "subject": _subject(decision, label), "sources": _sources(view, decision.versions_added),
        "months": _months(reference, now), "estimated_impact_cents": impact, "effect": effect,
        "applied": decision.kind in ("REGULARISE", "OFFICER_REGULARISE", "OFFICER_SPREAD"),
        "explain": decision.explain,
        "recovery": _recovery(decision),
        "dispute_deadline": deadline,
        "dispute": ("Demandez leur correction à l'employeur ou à l'organisme qui les a déclarés (voir ci-dessous "
                    "comment), ou signalez-le à votre caisse"
                    + (f" avant le {date.fromisoformat(deadline):%d/%m/%Y} : la régularisation attend jusque-là et "
                       "une demande ouverte la suspend." if deadline else ".")),
        "legal_basis": LEGAL_BASIS[decision.kind], "appeal": APPEAL,
    }


def _recovery(decision: GateDecision) -> dict | None:
    """The plan in the decision: so much a month for so many months, the last deduction the remainder."""
    if not decision.recovery_months:
        return None
    monthly, months = decision.recovery_monthly_cents, decision.recovery_months
    last = -decision.estimated_impact_cents - monthly * (months - 1)
    return {"monthly_cents": monthly, "months": months, "last_cents": last, "monthly": euros(monthly),
            "last": euros(last)}


def _subject(decision: GateDecision, label: str) -> str:
    month = month_fr(decision.reference_month)
    if decision.kind in ("OFFICER_KEEP_FROZEN", "DROITS_FIGES"):
        return f"Vos droits ({label}) pour {month} ne changent pas malgré une révision de vos ressources"
    if decision.estimated_impact_cents < 0:
        return f"Trop-perçu ({label}) pour {month} après une révision de vos ressources"
    return f"Rappel ({label}) pour {month} après une révision de vos ressources"
