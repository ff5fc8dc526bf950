"""Cross-declaration rules (one declarant's declarations in a run) and the cross-flow rule (one person's
daily allowances declared by the employer and by the paying body). They warn: the data already
passed the per-declaration rules; these findings go to the declarant and to the floating flags."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Sequence

from gateway.months import REPLACEMENT_DUE_DAY, day_of_instant, due_date, next_month, replacement_too_late
from gateway.records import AllowanceMention, DeclarationSummary, Flow, Origin, Severity
from gateway.validate.registry import Finding, Target, rule

MONTHLY = ("01", "11", "14")        # natures declared every month by a declarant with activity
TOLERANCE_CENTS = 100


def _origin(summary: DeclarationSummary) -> Origin:
    return Origin(summary.file, summary.first_line, summary.last_line)


def _key(summary: DeclarationSummary) -> tuple[str, str, str]:
    return summary.nature, summary.main_month or "", summary.fraction


def _ordered(summaries: Sequence[DeclarationSummary]) -> list[DeclarationSummary]:
    return sorted(summaries, key=lambda s: (s.main_month or "", s.file, s.first_line))


def _too_late(summary: DeclarationSummary) -> bool:
    return replacement_too_late(flow=summary.flow.value, nature=summary.nature, declaration_type=summary.type,
                                main_month=summary.main_month, arrived=summary.arrived)


@rule("DRM-XDC-001", family="cross-declaration", severity=Severity.WARNING, target=Target.DECLARANT,
      explain="Une déclaration « annule et remplace » a été reçue sans la déclaration qu'elle remplace (même "
              "établissement, même mois, même fraction).",
      reference="CT DSN §1.4.3.3")
def replacement_has_an_original(declarant: str, summaries: Sequence[DeclarationSummary]) -> Iterator[Finding]:
    for summary in replacements_without_original(summaries):
        if not summary.slot_known:
            yield Finding(_origin(summary), "S20.G00.05.002",
                          f"replacement for {summary.main_month} without a declaration to replace in this run "
                          "nor in the register")


def replacements_without_original(summaries: Sequence[DeclarationSummary]) -> list[DeclarationSummary]:
    """Annule-et-remplace declarations whose slot has no original among ``summaries`` (a run's): the ones the
    register is asked about (``gateway.ingest.check_declarant``)."""
    originals = {_key(s) for s in summaries if s.type in ("01", "02")}
    return [s for s in _ordered(summaries) if s.type in ("03", "05") and _key(s) not in originals]


@rule("DRM-XDC-002", family="cross-declaration", severity=Severity.WARNING, target=Target.DECLARANT,
      explain="La même déclaration a été reçue deux fois à l'identique ; elle n'est comptée qu'une fois.",
      reference="Idempotence de la passerelle")
def no_exact_duplicates(declarant: str, summaries: Sequence[DeclarationSummary]) -> Iterator[Finding]:
    seen: set[str] = set()
    for summary in _ordered(summaries):
        if summary.digest in seen:
            yield Finding(_origin(summary), "", "declaration identical to one already received")
        seen.add(summary.digest)


@rule("DRM-XDC-003", family="cross-declaration", severity=Severity.WARNING, target=Target.DECLARANT,
      explain="Deux déclarations « normales » différentes ont été reçues pour le même établissement, le même mois et "
              "la même fraction : une seule est admise, la seconde aurait dû être un « annule et remplace ».",
      reference="CT DSN §1.4.3.2")
def one_normal_declaration_per_month(declarant: str, summaries: Sequence[DeclarationSummary]) -> Iterator[Finding]:
    first: dict[tuple[str, str, str], str] = {}
    for summary in _ordered(summaries):
        if summary.type not in ("01", "02"):
            continue
        key = _key(summary)
        if key in first and first[key] != summary.digest:
            yield Finding(_origin(summary), "S20.G00.05.002",
                          f"second normal declaration for {summary.main_month}: expected a type 03")
        first.setdefault(key, summary.digest)


@rule("DRM-XDC-004", family="cross-declaration", severity=Severity.WARNING, target=Target.DECLARANT,
      explain="Une personne dont le contrat était en cours le mois précédent n'apparaît pas dans la déclaration de ce "
              "mois, sans fin de contrat déclarée : ses ressources de ce mois risquent d'être déclarées plus tard.",
      reference="CT DSN §2.1 (continuité des déclarations)", flows=(Flow.DSN,))
def employees_with_open_contracts_declared(declarant: str, summaries: Sequence[DeclarationSummary]) -> Iterator[Finding]:
    by_month = _latest_by_month([s for s in summaries if s.nature == "01"])
    for month, summary in by_month.items():
        following = by_month.get(next_month(month))
        if following is None:
            continue
        present = {p.person_key for p in following.people}
        missing = [p for p in summary.people if p.open_contract and p.person_key not in present]
        for person in missing:
            yield Finding(_origin(following), "S21.G00.30",
                          f"person with an open contract in {month} missing from {following.main_month}")


@rule("DRM-XDC-005", family="cross-declaration", severity=Severity.WARNING, target=Target.DECLARANT,
      explain="Aucune déclaration n'a été reçue pour un mois alors que le déclarant en avait envoyé une le mois "
              "précédent et en a envoyé une ensuite.",
      reference="CSS R133-13 (DSN mensuelle)")
def no_missing_month(declarant: str, summaries: Sequence[DeclarationSummary]) -> Iterator[Finding]:
    by_month = _latest_by_month([s for s in summaries if s.nature in MONTHLY])
    months = sorted(by_month)
    for before, after in zip(months, months[1:]):
        month = next_month(before)
        while month < after:
            yield Finding(_origin(by_month[after]), "S20.G00.05.005", f"no declaration for {month}")
            month = next_month(month)


@rule("DRM-XDC-006", family="cross-declaration", severity=Severity.WARNING, target=Target.DECLARANT,
      explain="Une déclaration « annule et remplace » est arrivée après sa date limite (la veille du 15 du mois "
              "suivant) : elle ne remplace pas la déclaration déjà reçue pour ce mois. Les corrections doivent être "
              "portées dans une déclaration d'un mois suivant (régularisation).",
      reference="CT DSN 2025 §1.4.3.3 (annule et remplace jusqu'à la veille de l'échéance)", flows=(Flow.DSN,))
def replacement_before_its_due_date(declarant: str, summaries: Sequence[DeclarationSummary]) -> Iterator[Finding]:
    in_time = {_key(s) for s in summaries if not _too_late(s)}
    for summary in _ordered(summaries):
        if _too_late(summary) and (_key(summary) in in_time or summary.slot_known):
            due = due_date(summary.main_month, REPLACEMENT_DUE_DAY)
            yield Finding(_origin(summary), "S20.G00.05.002",
                          f"replacement for {summary.main_month} received {day_of_instant(summary.arrived)}, due before {due}: "
                          "not applied")


def _latest_by_month(summaries: Sequence[DeclarationSummary]) -> dict[str, DeclarationSummary]:
    latest: dict[str, DeclarationSummary] = {}
    for summary in _ordered(summaries):
        if summary.main_month:
            latest[summary.main_month] = summary
    return latest


@rule("DRM-XFL-001", family="cross-flow", severity=Severity.WARNING, target=Target.CROSS_FLOW,
      explain="Les mêmes indemnités journalières sont déclarées à la fois par l'employeur (subrogation) et par "
              "l'organisme qui les verse : elles ne doivent être comptées qu'une fois dans les ressources.",
      reference="CT DSN S21.G00.58.003 type 10 (P26V01) ; PASRAU")
def daily_allowance_declared_once(person_key: str, mentions: Sequence[AllowanceMention]) -> Iterator[Finding]:
    by_month: dict[str, dict[Flow, list[AllowanceMention]]] = defaultdict(lambda: defaultdict(list))
    for mention in mentions:
        by_month[mention.month][mention.flow].append(mention)
    for month, flows in sorted(by_month.items()):
        for employer in flows.get(Flow.DSN, []):
            for body in flows.get(Flow.PASRAU, []):
                if abs(employer.amount_cents - body.amount_cents) <= TOLERANCE_CENTS:
                    yield Finding(Origin(body.file, body.line, body.line), "S21.G00.50.014",
                                  f"daily allowance of {month} also declared by employer {employer.declarant_id}")
