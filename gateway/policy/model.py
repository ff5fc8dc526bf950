"""Policy model and loader (YAML -> frozen dataclasses, validated field by field)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import ConfigurationError
from gateway.records import AMOUNT_FIELDS, ResourceNature

# When a base's month M comes round: every month, every quarter (M = Jan, Apr, Jul, Oct), every half-year
# (Jan, Jul) or every year (Jan): with window [-12, -1], ``yearly`` is the calendar year N-1 (IGAS §[164]).
# A base computed for M pays the months of its period, M included: one base per payment period, so that a
# revision of one paid month is decided once (never by two overlapping bases).
PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}
RECOMPUTE = tuple(PERIOD_MONTHS)
# What the gate does with a change of a frozen base beyond the policy's amounts: ``review`` (the shipped policy:
# small changes stay frozen, large overpayments go to an officer, arrears pass) or ``droits_figes`` (IGAS
# §[164], §[167]: beyond a threshold neither the overpayment nor the arrears is regularised; the frozen base
# stays).
GATE_MODES = ("review", "droits_figes")


@dataclass(frozen=True)
class FloatingPolicy:
    revised_full_score_change: float
    revised_step_per_revision: float
    revised_amount: str
    volatile_months: int
    volatile_declarant_revision_rate: float
    volatile_declarant_min_months: int
    volatile_score: float
    missing_due_day: int
    missing_score: float
    spanning_allowance_score: float
    several_payments_min: int
    several_payments_score: float
    replaced_score: float
    regularised_score: float
    late_score: float


@dataclass(frozen=True)
class BasePolicy:
    benefit: str
    label: str
    window: tuple[int, int]
    recompute: str
    amount: str
    natures: tuple[str, ...]
    deduction_rate: float
    deduction_natures: tuple[str, ...]
    floor_month_at_zero: bool
    comparison: bool = False       # computed and reported only: never published to liquidation nor gated


@dataclass(frozen=True)
class GateBenefit:
    impact_rate: float
    paid_months: int
    de_minimis_cents: int
    cap_cents: int
    droits_figes_cents: int | None = None   # mode droits_figes: beyond this estimated effect, nothing regularised


@dataclass(frozen=True)
class GatePolicy:
    effective_from: str
    recovery_limit_months: int
    unstable_rules: tuple[str, ...]
    unstable_min_score: float
    arrears_pass: bool
    estimator: str
    benefits: dict[str, GateBenefit]
    mode: str = "review"
    contradictory_days: int = 0          # an overpayment is final this many days after its notice (0: at once)


@dataclass(frozen=True)
class RecoveryPolicy:
    """CSS D553-1 III's scale (``gateway.gate.recovery``): a flat amount, then (band start, rate) pairs in cents."""

    flat_cents: int
    bands: tuple[tuple[int, float], ...]
    rmp_cents: int                       # the household's weighted monthly income the gateway assumes
    reste_a_vivre_cents: int             # a deduction never leaves less than this of it (policy choice)
    source: str


@dataclass(frozen=True)
class Policy:
    version: str
    digest: str                          # SHA-256 of the file: two files with one version are told apart
    floating: FloatingPolicy
    bases: tuple[BasePolicy, ...]
    gate: GatePolicy
    raw: dict[str, Any]
    recovery: RecoveryPolicy | None = None    # none: overpayments carry no recovery plan

    def base(self, benefit: str) -> BasePolicy:
        return next(b for b in self.bases if b.benefit == benefit)


class _Reader:
    """Typed access to a YAML mapping; every error names the field path."""

    def __init__(self, source: str, data: Any, path: str = "") -> None:
        self.source, self.data, self.path = source, data, path
        if not isinstance(data, dict):
            self.fail("", "expected a mapping")

    def fail(self, name: str, expected: str):
        where = f"{self.path}.{name}".strip(".") or "(top)"
        raise ConfigurationError(f"invalid policy @ {self.source} field {where}: {expected}")

    def child(self, name: str) -> "_Reader":
        if name not in self.data:
            self.fail(name, "missing")
        return _Reader(self.source, self.data[name], f"{self.path}.{name}".strip("."))

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if name not in self.data:
            if default is ...:
                self.fail(name, "missing")
            return default
        value = self.data[name]
        if isinstance(value, bool) and kind is not bool:
            self.fail(name, f"expected {getattr(kind, '__name__', kind)}, got a boolean")
        if not isinstance(value, kind):
            self.fail(name, f"expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
        return value

    def score(self, name: str) -> float:
        value = float(self.get(name, (int, float)))
        if not 0 <= value <= 1:
            self.fail(name, "expected a score between 0 and 1")
        return value

    def positive(self, name: str, kind: type = int) -> Any:
        value = self.get(name, (int, float) if kind is float else int)
        if value <= 0:
            self.fail(name, "expected a positive number")
        return value

    def amount(self, name: str) -> str:
        value = self.get(name, str)
        if value not in AMOUNT_FIELDS:
            self.fail(name, f"expected one of {', '.join(AMOUNT_FIELDS)}")
        return value

    def natures(self, name: str) -> tuple[str, ...]:
        values = self.get(name, list)
        known = {n.value for n in ResourceNature}
        bad = [v for v in values if v not in known]
        if bad or not values:
            self.fail(name, f"expected a non-empty list of {', '.join(sorted(known))}")
        return tuple(values)


def _floating(r: _Reader) -> FloatingPolicy:
    revised, volatile, missing = r.child("revised"), r.child("volatile"), r.child("missing")
    several = r.child("several_payments")
    due_day = missing.positive("due_day")
    if due_day > 28:
        missing.fail("due_day", "expected a day between 1 and 28")
    return FloatingPolicy(
        revised_full_score_change=revised.positive("full_score_change", float),
        revised_step_per_revision=revised.score("step_per_revision"),
        revised_amount=revised.amount("amount"),
        volatile_months=volatile.positive("months"),
        volatile_declarant_revision_rate=volatile.score("declarant_revision_rate"),
        volatile_declarant_min_months=volatile.positive("declarant_min_months"),
        volatile_score=volatile.score("score"),
        missing_due_day=due_day, missing_score=missing.score("score"),
        spanning_allowance_score=r.child("spanning_allowance").score("score"),
        several_payments_min=several.positive("min_payments"), several_payments_score=several.score("score"),
        replaced_score=r.child("replaced").score("score"), late_score=r.child("late").score("score"),
        regularised_score=r.child("regularised").score("score"))


def _base(benefit: str, r: _Reader) -> BasePolicy:
    window = r.get("window", list)
    if len(window) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in window) \
            or not window[0] <= window[1] <= 0:
        r.fail("window", "expected [first, last] month offsets with first <= last <= 0, e.g. [-13, -2]")
    recompute = r.get("recompute", str)
    if recompute not in RECOMPUTE:
        r.fail("recompute", f"expected one of {', '.join(RECOMPUTE)}")
    deduction = r.child("deduction") if "deduction" in r.data else None
    rate = deduction.score("rate") if deduction else 0.0
    return BasePolicy(benefit=benefit, label=r.get("label", str), window=(window[0], window[1]), recompute=recompute,
                      amount=r.amount("amount"), natures=r.natures("natures"), deduction_rate=rate,
                      deduction_natures=deduction.natures("natures") if deduction else (),
                      floor_month_at_zero=r.get("floor_month_at_zero", bool, False),
                      comparison=r.get("comparison", bool, False))


ESTIMATORS = ("linear", "openfisca")


def _gate(r: _Reader, bases: tuple[BasePolicy, ...]) -> GatePolicy:
    effective = r.get("effective_from", str)
    if not re.fullmatch(r"20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", effective):
        r.fail("effective_from", "expected a date YYYY-MM-DD")
    unstable = r.child("unstable")
    rules = unstable.get("rules", list)
    if not all(isinstance(x, str) and re.fullmatch(r"DRM-FLT-[0-9]{3}", x) for x in rules):
        unstable.fail("rules", "expected a list of floating rule ids (DRM-FLT-NNN)")
    estimator = r.get("estimator", str)
    if estimator not in ESTIMATORS:
        r.fail("estimator", f"expected one of {', '.join(ESTIMATORS)}")
    mode = r.get("mode", str, "review")
    if mode not in GATE_MODES:
        r.fail("mode", f"expected one of {', '.join(GATE_MODES)}")
    table = r.child("benefits")
    out = {}
    for base in bases:
        benefit, period = base.benefit, PERIOD_MONTHS[base.recompute]
        item = table.child(benefit)
        rate = float(item.get("impact_rate", (int, float)))
        if not 0 < rate <= 2:
            item.fail("impact_rate", "expected a rate above 0 and at most 2")
        de_minimis, cap = item.get("de_minimis_cents", int), item.positive("cap_cents")
        if not 0 <= de_minimis < cap:
            item.fail("de_minimis_cents", "expected 0 <= de minimis < cap")
        threshold = item.positive("droits_figes_cents") if mode == "droits_figes" else None
        if threshold is not None and threshold <= de_minimis:
            item.fail("droits_figes_cents", "expected a threshold above the de minimis amount")
        paid = item.positive("paid_months") if "paid_months" in item.data else period
        if paid != period:
            item.fail("paid_months", f"expected {period}: a base recomputed {base.recompute} pays the {period} month(s) "
                                     "of its period (a longer one would overlap the next base and decide a change twice)")
        out[benefit] = GateBenefit(impact_rate=rate, paid_months=paid,
                                   de_minimis_cents=de_minimis, cap_cents=cap, droits_figes_cents=threshold)
    extra = sorted(set(table.data) - {base.benefit for base in bases})
    if extra:
        table.fail(extra[0], "expected a benefit of the bases section")
    return GatePolicy(effective_from=effective, recovery_limit_months=r.positive("recovery_limit_months"),
                      unstable_rules=tuple(rules), unstable_min_score=unstable.score("min_score"),
                      arrears_pass=r.get("arrears_pass", bool), estimator=estimator, benefits=out, mode=mode,
                      contradictory_days=_days(r, "contradictory_days"))


def _recovery(r: _Reader) -> RecoveryPolicy:
    scale = r.child("scale")
    flat = scale.get("flat_cents", int)
    bands = scale.get("bands", list)
    if flat < 0 or not bands or not all(
            isinstance(b, list) and len(b) == 2 and isinstance(b[0], int) and not isinstance(b[0], bool)
            and isinstance(b[1], (int, float)) and 0 < b[1] <= 1 for b in bands) \
            or [b[0] for b in bands] != sorted({b[0] for b in bands}) or bands[0][0] < 0:
        scale.fail("bands", "expected [[start_cents, rate], ...] with increasing starts and rates in (0, 1]")
    source = scale.get("source", str)
    if not source.strip():
        scale.fail("source", "expected the legal source of the scale")
    return RecoveryPolicy(flat_cents=flat, bands=tuple((b[0], float(b[1])) for b in bands),
                          rmp_cents=r.positive("rmp_cents"), reste_a_vivre_cents=r.get("reste_a_vivre_cents", int),
                          source=source)


def _days(r: _Reader, name: str) -> int:
    days = r.get(name, int, 0)
    if not 0 <= days <= 366:
        r.fail(name, "expected a number of days from 0 to 366")
    return days


def default_policy_path() -> Path:
    return Path(str(resources.files("gateway.policy").joinpath("default.yaml")))


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate a policy file (default: the shipped one)."""
    path = Path(path) if path else default_policy_path()
    try:
        text = path.read_bytes()
    except OSError as error:
        raise ConfigurationError(f"policy unreadable @ {path}: {error.strerror or error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigurationError(f"policy is not valid YAML @ {path}{where}: expected a YAML mapping") from None
    top = _Reader(str(path), data)
    version = top.get("version", str)
    if not version.strip():
        top.fail("version", "expected a non-empty version label")
    bases = top.child("bases")
    if not bases.data:
        bases.fail("", "expected at least one benefit")
    base_policies = tuple(_base(str(name), bases.child(str(name))) for name in bases.data)
    return Policy(version=version, digest=hashlib.sha256(text).hexdigest(), floating=_floating(top.child("floating")),
                  bases=base_policies, gate=_gate(top.child("gate"), base_policies),
                  raw=data, recovery=_recovery(top.child("recovery")) if "recovery" in top.data else None)
