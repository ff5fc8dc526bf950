"""Where a request goes: DSN data to the employer through the social-rights portal's mediation channel
(PNDS), PASRAU data directly to the paying body; and what correction the source is expected to send."""
from __future__ import annotations

from dataclasses import dataclass

from gateway.gate.notices import correction_channel
from gateway.months import month_fr


@dataclass(frozen=True)
class Route:
    target: str
    channel: str


def route_for(flow: str, declarant_id: str) -> Route:
    who = "employeur" if flow == "DSN" else "organisme payeur"
    return Route(target=f"{who} SIRET {declarant_id}", channel=correction_channel(flow))


def expected_correction(flow: str, months: list[str]) -> str:
    named = ", ".join(month_fr(m) for m in months)
    if flow == "DSN":
        return (f"une déclaration « annule et remplace » de la DSN de {named} si l'échéance n'est pas passée, sinon "
                "une régularisation dans la prochaine DSN (bloc S21.G00.56 pour le prélèvement à la source, montant "
                "net social rattaché au versement d'origine, rappel de salaire avec sa période d'origine)")
    return (f"une déclaration PASRAU rectificative pour {named} ou une régularisation dans la prochaine déclaration "
            "(bloc S21.G00.56)")
