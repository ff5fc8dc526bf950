"""Policy model and loader (YAML -> frozen dataclasses, validated field by field)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import ConfigurationError
from gateway.records import AMOUNT_FIELDS, ResourceNature

RECOMPUTE = ("quarterly", "monthly")


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


@dataclass(frozen=True)
class Policy:
    version: str
    digest: str                          # SHA-256 of the file: two files with one version are told apart
    floating: FloatingPolicy
    bases: tuple[BasePolicy, ...]
    raw: dict[str, Any]                  # the parsed file, for sections later stages read (the gate)


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
                      floor_month_at_zero=r.get("floor_month_at_zero", bool, False))


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
    return Policy(version=version, digest=hashlib.sha256(text).hexdigest(), floating=_floating(top.child("floating")),
                  bases=tuple(_base(str(name), bases.child(str(name))) for name in bases.data), raw=data)
