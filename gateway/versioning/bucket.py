"""One bucket of people: merge what arrives into the register, then derive flags and bases as of a date.

Pure: the transform reads the bucket's prior state and writes the result; tests call these directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from gateway.policy import Policy
from gateway.validate.registry import Rule
from gateway.versioning.bases import ReferenceBase, base_of
from gateway.versioning.floating import FloatingFlag, flags_of
from gateway.versioning.register import BucketState, Contribution, Declaration, Mention, ResourceVersion, merge
from gateway.versioning.view import declarant_rates, month_histories, people_as_of


@dataclass
class Derived:
    flags: list[FloatingFlag] = field(default_factory=list)
    bases: list[ReferenceBase] = field(default_factory=list)
    months: dict[tuple[str, str], list[int]] = field(default_factory=dict)   # (declarant, nature) -> [months, revised]


@dataclass
class BucketResult:
    contributions: list[Contribution]
    mentions: list[Mention]
    versions: list[ResourceVersion]
    derived: Derived
    declarants: dict[str, list[int]]          # declarant -> [months first known, months first revised] this run


def derive(state: BucketState, declarations: Iterable[Declaration], declarant_rows: Iterable[dict], as_of: str,
           policy: Policy, rules: list[Rule]) -> Derived:
    """Flags, bases and floating-rate counts of every person of the bucket, as known at ``as_of``."""
    rates = declarant_rates(declarant_rows, as_of)
    out = Derived()
    for person_key, view in sorted(people_as_of(state, declarations, as_of).items()):
        flags = flags_of(person_key, month_histories(view, as_of, policy.floating, rates), rules, policy.floating,
                         policy_version=policy.version)
        out.flags.extend(flags)
        floating = {flag.key for flag in flags}
        for base_policy in policy.bases:
            base = base_of(view, base_policy, as_of, floating, policy_version=policy.version)
            if base is not None:
                out.bases.append(base)
        for key, versions in view.versions.items():
            counts = out.months.setdefault((key[1], key[2]), [0, 0])
            counts[0] += 1
            counts[1] += len(versions) > 1
    return out


def process_bucket(prior: BucketState, *, known: list[Declaration], arriving: list[Declaration],
                   contributions: list[Contribution], mentions: list[Mention], run_id: str, as_of: str,
                   policy: Policy, rules: list[Rule], declarant_rows: list[dict]) -> BucketResult:
    fresh, added, versions = merge(known=known, contributions=prior.contributions, versions=prior.versions,
                                   arriving=arriving, new_contributions=contributions, run_id=run_id)
    fresh_digests = {d.digest for d in fresh}
    seen: set[tuple] = set()
    new_mentions = []
    for mention in sorted(mentions, key=lambda m: (m.digest, m.person_key, m.month)):
        identity = (mention.digest, mention.person_key)
        if mention.digest in fresh_digests and identity not in seen:
            seen.add(identity)
            new_mentions.append(mention)
    after = BucketState(prior.contributions + added, prior.mentions + new_mentions, prior.versions + versions)
    declarants: dict[str, list[int]] = {}
    for version in versions:
        if version.version <= 2:
            declarants.setdefault(version.declarant_id, [0, 0])[version.version - 1] += 1
    derived = derive(after, list(known) + fresh, declarant_rows, as_of, policy, rules)
    return BucketResult(added, new_mentions, versions, derived, declarants)
