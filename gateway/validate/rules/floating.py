"""Floating-resource rules: is a resource month still moving? (IGAS report, §3.2 "ressources flottantes").

Each rule looks at one month's versions as known at a date (``MonthHistory``) with the policy's
thresholds and yields at most one finding, with a score between 0 and 1. They never reject
anything: they label months so that bases, the gate and officers know what may still change.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterator

from gateway.months import REPLACEMENT_DUE_DAY, day_of_instant, due_date, month_of_instant, months_between
from gateway.records import MonthHistory, Origin, Severity
from gateway.validate.registry import Finding, Target, rule

REPLACEMENT = "REPLACEMENT"
CORRECTIONS = ("PAS_REGULARISATION", "BACK_PAY", "NET_SOCIAL_CORRECTION", "PASRAU_CORRECTION")


def _origin(history: MonthHistory) -> Origin:
    last = history.versions[-1] if history.versions else None
    return Origin(last.file, last.first_line, last.first_line) if last else Origin("register", 0, 0)


def days_between(start: str, end: str) -> int:
    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text else datetime.fromisoformat(text)
    return max(0, (parse(end).replace(tzinfo=None) - parse(start).replace(tzinfo=None)).days)


@rule("DRM-FLT-001", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
      explain="Le montant de ce mois a été modifié après sa première déclaration : il peut encore changer.",
      reference="Rapport IGAS, §3.2 : ressources flottantes (révisions après première publication)")
def revised_after_first_publication(history: MonthHistory, policy) -> Iterator[Finding]:
    if len(history.versions) < 2:
        return
    first, last = history.versions[0], history.versions[-1]
    base = abs(first.amount_cents or 0)
    change = (last.amount_cents or 0) - (first.amount_cents or 0)
    relative = abs(change) / base if base else (1.0 if change else 0.0)
    revisions = len(history.versions) - 1
    score = min(1.0, relative / policy.revised_full_score_change
                + policy.revised_step_per_revision * (revisions - 1))
    days = days_between(first.transaction_time, last.transaction_time)
    yield Finding(_origin(history), "", f"{revisions} revision(s), change {change} cents, {days} day(s) after "
                  "first known", score=round(max(score, policy.revised_step_per_revision), 4),
                  facts=(("revisions", revisions), ("change_cents", change), ("days", days)))


@rule("DRM-FLT-002", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
      explain="La déclaration de ce mois a été annulée et remplacée par l'employeur ou l'organisme.",
      reference="CT DSN 2025 §1.4.3.3 (annule et remplace intégral)")
def replaced_by_annule_et_remplace(history: MonthHistory, policy) -> Iterator[Finding]:
    replaced = sum(1 for v in history.versions if v.cause == REPLACEMENT)
    if replaced:
        yield Finding(_origin(history), "", f"{replaced} replacement version(s)", score=policy.replaced_score,
                      facts=(("replacements", replaced),))


@rule("DRM-FLT-003", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
      explain="Ce mois a été corrigé après coup (régularisation, rappel de salaire ou correction du montant "
              "net social) par une déclaration d'un mois suivant.",
      reference="CT DSN 2025 §2.1.3.6 ; bloc S21.G00.56 ; montant net social rattaché au versement d'origine")
def corrected_by_a_later_declaration(history: MonthHistory, policy) -> Iterator[Finding]:
    causes = sorted({v.cause for v in history.versions if v.cause in CORRECTIONS})
    if causes:
        yield Finding(_origin(history), "", f"corrected by {'+'.join(causes)}", score=policy.regularised_score,
                      facts=(("corrections", len(causes)),))


def volatile_declarant(revision_rate: float, months: int, policy) -> bool:
    """Whether DRM-FLT-004 may flag a declarant's months: its revision rate, measured over enough months, reaches the
    policy's. The rule is the only reader of the rate: a declarant that is not volatile gets the same flags whatever
    its rate (``gateway.versioning.view.rates_that_show``)."""
    return months >= policy.volatile_declarant_min_months and revision_rate >= policy.volatile_declarant_revision_rate


@rule("DRM-FLT-004", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
      explain="Ce mois a été déclaré récemment par un déclarant qui corrige souvent ses déclarations après "
              "coup : son montant peut encore changer.",
      reference="Politique de la passerelle : fenêtre de volatilité (fichier de politique, section floating.volatile)")
def still_inside_the_volatility_window(history: MonthHistory, policy) -> Iterator[Finding]:
    if not history.versions or not volatile_declarant(history.declarant_revision_rate, history.declarant_months,
                                                      policy):
        return
    age = months_between(month_of_instant(history.versions[0].transaction_time), month_of_instant(history.as_of))
    if age < policy.volatile_months:
        yield Finding(_origin(history), "", f"first known {age} month(s) ago; declarant revision rate "
                      f"{history.declarant_revision_rate:.3f} over {history.declarant_months} months",
                      score=policy.volatile_score, facts=(("age_months", age),))


@rule("DRM-FLT-005", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
      explain="Un contrat de travail était en cours, mais l'employeur n'a pas déclaré ce mois alors que la date "
              "limite est passée : une déclaration tardive est attendue.",
      reference="CT DSN 2025 §1.4.3.2 (une déclaration mensuelle par mois principal) ; contrat sans fin (S21.G00.62)")
def expected_but_missing(history: MonthHistory, policy) -> Iterator[Finding]:
    if history.expected_missing:
        yield Finding(_origin(history), "", "open contract the month before, no declaration although due",
                      score=policy.missing_score)


@rule("DRM-FLT-006", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
      explain="Des indemnités journalières de ce mois couvrent une période d'arrêt à cheval sur plusieurs mois : "
              "leur répartition entre les mois peut encore changer.",
      reference="Rapport IGAS, §3.2 (périodes d'imputation des IJ) ; PASRAU S21.G00.51.001/.002")
def allowance_period_spans_months(history: MonthHistory, policy) -> Iterator[Finding]:
    if history.spanning_allowance:
        yield Finding(_origin(history), "", "daily-allowance period over more than one month",
                      score=policy.spanning_allowance_score)


@rule("DRM-FLT-007", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
      explain="Plusieurs versements ont été déclarés pour ce mois par le même déclarant.",
      reference="CT DSN 2025 S21.G00.50 (un bloc par versement)")
def several_payments_in_the_month(history: MonthHistory, policy) -> Iterator[Finding]:
    if history.payment_count >= policy.several_payments_min:
        yield Finding(_origin(history), "", f"{history.payment_count} payments", score=policy.several_payments_score,
                      facts=(("payments", history.payment_count),))


@rule("DRM-FLT-008", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
      explain="Ce mois a été déclaré après la date limite : il était absent quand les droits ont pu être calculés.",
      reference="CT DSN 2025 §1.4.3.3 (échéance du 5 ou du 15 du mois suivant)")
def declared_after_its_due_date(history: MonthHistory, policy) -> Iterator[Finding]:
    if history.versions and history.versions[0].cause == "LATE":
        yield Finding(_origin(history), "", f"first known {day_of_instant(history.versions[0].transaction_time)}",
                      score=policy.late_score)


@rule("DRM-FLT-009", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
      explain="Une déclaration « annule et remplace » de ce mois est arrivée après sa date limite (la veille du 15 du "
              "mois suivant) : la norme ne permet plus de remplacer la déclaration à cette date, elle n'a donc pas été "
              "prise en compte. L'employeur doit corriger ce mois dans une déclaration suivante : le montant peut "
              "encore changer.",
      reference="CT DSN 2025 §1.4.3.3 (annule et remplace jusqu'à la veille de l'échéance)")
def replaced_after_its_due_date(history: MonthHistory, policy) -> Iterator[Finding]:
    due = due_date(history.month, REPLACEMENT_DUE_DAY)
    # Registers written before replacements were refused hold late ones as REPLACEMENT versions.
    applied = [day for v in history.versions
               if v.cause == REPLACEMENT and (day := day_of_instant(v.transaction_time)) >= due]
    late = sorted([*applied, *([history.late_replacement] if history.late_replacement else [])])
    if late:
        what = "refused" if history.late_replacement else "applied"
        yield Finding(_origin(history), "", f"replacement of {late[-1]} {what}, due before {due}",
                      score=policy.late_score, facts=(("late_replacements", len(late)),))


# --- months no rule above can flag ----------------------------------------------------------------------------

# Every rule above looks for one of these facts of a month; a month without any of them (``quiet``) is flagged by
# none: its history need not be built nor the rules run over it (gateway.versioning.view.month_histories).
SILENT_WHEN_QUIET = frozenset({"DRM-FLT-001", "DRM-FLT-002", "DRM-FLT-003", "DRM-FLT-004", "DRM-FLT-005",
                               "DRM-FLT-006", "DRM-FLT-007", "DRM-FLT-008", "DRM-FLT-009"})
_LOUD_CAUSES = frozenset({REPLACEMENT, "LATE", *CORRECTIONS})


def quiet(versions: int, first_cause: str, payment_count: int, spanning_allowance: bool, expected_missing: bool,
          late_replacement: str, declarant_revision_rate: float, declarant_months: int, policy) -> bool:
    """Whether a month with these facts (those of its ``MonthHistory``) is flagged by none of SILENT_WHEN_QUIET: one
    version (DRM-FLT-001), not a replacement, a correction nor late (-002, -003, -008, -009), not missing (-005),
    no allowance over several months (-006), fewer payments than the policy's several (-007), from a declarant
    that is not volatile (-004). ``tests/gateway/versioning/test_quiet_months.py`` proves each rule silent on
    every quiet month (the rules are the oracle)."""
    return (versions == 1 and first_cause not in _LOUD_CAUSES and not late_replacement and not expected_missing
            and not spanning_allowance and payment_count < policy.several_payments_min
            and not volatile_declarant(declarant_revision_rate, declarant_months, policy))
