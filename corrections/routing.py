"""Where a request goes: DSN data to the employer through the social-rights portal's mediation channel
(PNDS), PASRAU data directly to the paying body; and what correction the source is expected to send."""
from __future__ import annotations

from dataclasses import dataclass

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")


@dataclass(frozen=True)
class Route:
    target: str
    channel: str


def route_for(flow: str, declarant_id: str) -> Route:
    if flow == "DSN":
        return Route(target=f"employeur SIRET {declarant_id}",
                     channel="médiation du portail numérique des droits sociaux (PNDS)")
    return Route(target=f"organisme payeur SIRET {declarant_id}", channel="envoi direct à l'organisme (PASRAU)")


def month_fr(month: str) -> str:
    return f"{MONTHS_FR[int(month[5:7]) - 1]} {month[:4]}"


def expected_correction(flow: str, months: list[str]) -> str:
    named = ", ".join(month_fr(m) for m in months)
    if flow == "DSN":
        return (f"une déclaration « annule et remplace » de la DSN de {named} si l'échéance n'est pas passée, sinon "
                "une régularisation dans la prochaine DSN (bloc S21.G00.56 pour le prélèvement à la source, montant "
                "net social rattaché au versement d'origine, rappel de salaire avec sa période d'origine)")
    return (f"une déclaration PASRAU rectificative pour {named} ou une régularisation dans la prochaine déclaration "
            "(bloc S21.G00.56)")
