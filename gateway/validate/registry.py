"""A rule registry is an object you can build in a test (STYLE.md §3).

A rule is a pure function over one kind of subject (an envoi index, a parsed declaration, a
person block) that yields :class:`Finding` values; the registry stamps them with the rule's id,
severity and French explanation, and collects every finding of a subject, not just the first.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from gateway.errors import DuplicateRuleError
from gateway.records import Flow, Origin, Severity, Violation

RULE_ID = re.compile(r"DRM-[A-Z]{2,3}-[0-9]{3}")


class Target(str, enum.Enum):
    FILE = "file"
    ENVOI = "envoi"
    DECLARATION = "declaration"
    PERSON = "person"
    DECLARANT = "declarant"      # all declarations of one declarant in the run (cross-declaration)
    CROSS_FLOW = "cross_flow"    # one person's daily allowances in both flows
    HISTORY = "history"          # one declarant's run figures against its own past runs
    BATCH = "batch"              # a batch of canonical records against the published schema (pandera)
    FLOATING = "floating"        # one resource month's versions as known at a date (floating flags)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule function yields: where, and an English detail without personal values."""

    origin: Origin
    rubric: str = ""
    detail: str = ""
    score: float = 0.0           # floating flags: how likely the month is to move again (0..1)
    facts: tuple[tuple[str, int | str], ...] = ()   # figures a French sentence may quote (no personal data)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    family: str
    severity: Severity
    target: Target
    explain: str
    reference: str
    flows: frozenset[Flow]
    check: Callable[..., Iterable[Finding]]
    versions: frozenset[str] | None = None      # norm versions it applies to (None: all)

    def violation(self, finding: Finding) -> Violation:
        """A finding of this rule, stamped with the rule's id, severity and explanation."""
        return Violation(self.id, self.severity, finding.origin, finding.rubric, finding.detail, self.explain,
                         self.family)


class RuleRegistry:
    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}
        self._selected: dict[tuple, list[Rule]] = {}     # for_target's answers; cleared when a rule is added
        # Whether callers skip the rules a columnar certificate proves silent (gateway.validate.certify); off in a
        # registry made by uncertified(), the reference the certificates are compared to.
        self.certificates = True

    def uncertified(self) -> "RuleRegistry":
        """The same rules (as registered now), every one of them run on every subject (no certificate skips any)."""
        other = RuleRegistry()
        other._rules = dict(self._rules)
        other.certificates = False
        return other

    def rule(self, rule_id: str, *, family: str, severity: Severity, target: Target, explain: str,
             reference: str = "", flows: Iterable[Flow] = (Flow.DSN, Flow.PASRAU),
             versions: Iterable[str] | None = None) -> Callable:
        if not RULE_ID.fullmatch(rule_id):
            raise ValueError(f"rule id {rule_id!r}: expected DRM-XX-NNN or DRM-XXX-NNN")

        def register(check: Callable) -> Callable:
            if rule_id in self._rules:
                msg = f"rule {rule_id} is already defined by {self._rules[rule_id].check.__qualname__}"
                raise DuplicateRuleError(msg)
            self._rules[rule_id] = Rule(rule_id, family, severity, target, explain, reference,
                                        frozenset(flows), check, frozenset(versions) if versions else None)
            self._selected.clear()
            return check
        return register

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self._rules.values(), key=lambda rule: rule.id))

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def for_target(self, target: Target, flow: Flow | None = None, version: str | None = None) -> list[Rule]:
        return list(self._for_target(target, flow, version))

    def _for_target(self, target: Target, flow: Flow | None, version: str | None,
                    skip: frozenset[str] = frozenset()) -> list[Rule]:
        """The rules for ``target`` but those in ``skip`` (the registry's own memoised list: not to be changed by
        callers)."""
        key = (target, flow, version, skip)
        selected = self._selected.get(key)
        if selected is None:
            if len(self._selected) > 4096:             # sets of skipped rules vary little; bound them anyway
                self._selected.clear()
            selected = self._selected[key] = [
                rule for rule in self if rule.target is target and (flow is None or flow in rule.flows)
                and (version is None or rule.versions is None or version in rule.versions) and rule.id not in skip]
        return selected

    def check(self, target: Target, *subject: Any, flow: Flow | None = None, version: str | None = None,
              skip: frozenset[str] = frozenset()) -> list[Violation]:
        """Every violation of every rule for ``target`` on ``subject`` (all of them, not the first), but the rules
        in ``skip``: those a certificate proved to find nothing (``gateway.validate.certify``).

        Called per person: a rule with no finding costs one call of its check, nothing more."""
        found: list[Violation] = []
        for rule in self._for_target(target, flow, version, skip):
            for finding in rule.check(*subject):
                found.append(rule.violation(finding))
        return found


DEFAULT_RULES = RuleRegistry()
rule = DEFAULT_RULES.rule
