"""One bucket of people: merge what arrives into the register, then derive flags and bases as of a date.

Pure: the transform reads the bucket's prior state and writes the result; tests call these directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from gateway.gate.decisions import gate_person, paying_benefits
from gateway.gate.table import OFFICER_RULE
from gateway.gate.estimate import Estimator
from gateway.policy import Policy
from gateway.records import FloatingFlag, GateDecision, OfficerAnswer, ReferenceBase, ResourceVersion
from gateway.validate.registry import Rule
from gateway.validate.rules.floating import SILENT_WHEN_QUIET
from gateway.versioning.bases import bucket_bases, current_versions, unchanged_bases
from gateway.versioning.floating import bucket_flags, flag_keys, flags_by_person, flags_of, over_columns
from gateway.versioning.horizon import open_from, within
from gateway.versioning.mentions import fresh_mention_rows
from gateway.versioning.columns import first_versions, joined, merge_columns, unique_contributions
from gateway.versioning.register import BucketState, Contribution, Declaration, Mention
from gateway.versioning.view import BucketView, declarant_rates
from schemas.records import FLOATING_FLAG, REFERENCE_BASE, BaseRows, FlagRows


@dataclass
class Derived:
    flags: Sequence[FloatingFlag] = field(default_factory=list)       # as rows (schemas.records.FlagRows)
    bases: Sequence[ReferenceBase] = field(default_factory=list)     # as rows (schemas.records.BaseRows)
    months: dict[tuple[str, str], list[int]] = field(default_factory=dict)   # (declarant, nature) -> [months, revised]
    published: Sequence[ReferenceBase] = field(default_factory=list)   # bases frozen now (published to liquidation)
    decisions: list[GateDecision] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)          # the claimant's notices of the decisions


@dataclass(frozen=True)
class GateInputs:
    """What the frozen-effects gate takes from outside the register: open correction requests (person ->
    months), officers' answers, and the impact estimator."""

    open_requests: dict[str, frozenset[str]]
    officer: dict[str, OfficerAnswer]
    estimator: Estimator


def _latest(items, key, order):
    out: dict = {}
    for item in sorted(items, key=order):
        out[key(item)] = item
    return out


@dataclass
class BucketResult:
    contributions: Sequence[Contribution]           # as rows (gateway.versioning.columns.ContributionRows)
    mentions: Sequence[Mention]                     # as rows (gateway.versioning.mentions.MentionRows)
    versions: Sequence[ResourceVersion]             # as rows (schemas.records.VersionRows)
    derived: Derived
    declarants: dict[str, list[int]]          # declarant -> [months first known, months first revised] this run


def committed(prior: BucketState, result: BucketResult) -> BucketState:
    """What the register holds for a bucket once the run that gave ``result`` is committed (what
    ``store.write_bucket`` adds to it): the prior state plus the run's contributions, mentions and versions, the
    bases it published (frozen: the gate's references from then on) and its decisions."""
    return BucketState(joined(prior.contributions, result.contributions), joined(prior.mentions, result.mentions),
                       joined(prior.versions, result.versions), [*prior.frozen, *result.derived.published],
                       prior.decisions + result.derived.decisions)


def _by_person(latest: dict[tuple, object]) -> dict[str, dict[tuple, object]]:
    """(person, benefit, month) -> item, regrouped as person -> (benefit, month) -> item (one pass)."""
    out: dict[str, dict[tuple, object]] = {}
    for (person_key, *rest), item in latest.items():
        out.setdefault(person_key, {})[tuple(rest)] = item
    return out


def derive(state: BucketState, declarations: Iterable[Declaration], declarant_rows: Iterable[dict], as_of: str,
           policy: Policy, rules: list[Rule], gate: GateInputs | None = None) -> Derived:
    """Flags, bases and floating-rate counts of every person of the bucket, as known at ``as_of``, over the
    months still open at that date (gateway.versioning.horizon); with ``gate``, the bases published now and
    the gate's decisions on changed published bases."""
    rates = declarant_rates(declarant_rows, as_of)
    state = within(state, open_from(policy, as_of))            # settled months: no output uses them
    out = Derived()
    # Months no floating rule can flag are not looked at, unless a rule of another kind is to run over them.
    skip_quiet = all(rule.id in SILENT_WHEN_QUIET for rule in rules)
    bucket = BucketView(state, declarations, as_of)
    views = bucket.views                   # every person, sorted; versions read only for those who need them
    people = list(views)
    if over_columns(rules):                # the nine floating rules: over the months' columns, no history built
        flags = bucket_flags(bucket.months(policy.floating, rates, skip_quiet=skip_quiet), rules, policy.floating,
                             as_of=as_of, policy_version=policy.version)
    else:
        histories = bucket.histories(policy.floating, rates, skip_quiet=skip_quiet)
        flags = FlagRows(FLOATING_FLAG.table([flag for person_key in people for flag in flags_of(
            person_key, histories.get(person_key, ()), rules, policy.floating, policy_version=policy.version)]))
    out.flags = flags
    floating = flag_keys(flags, people)
    # every person's bases at once, over the columns of the bucket's versions (flags first: their floating share)
    current = current_versions(state.versions, as_of, views, floating)
    out.bases = bucket_bases(views, state.versions, policy.bases, as_of, floating, policy_version=policy.version,
                             current=current)
    if gate is not None:
        _gate(out, state, bucket, current, policy, as_of, gate)
    for view in views.values():
        view.sums.clear()       # the period sums serve a person's bases and gate only (a bucket keeps every view)
    out.months = bucket.month_counts()
    return out


def _gate(out: Derived, state: BucketState, bucket: BucketView, current, policy: Policy, as_of: str,
          gate: GateInputs) -> None:
    """The bases the gate publishes now and its decisions (``out.published``, ``.decisions``, ``.notices``), for
    the bucket's people with the flags and bases ``derive`` made of them. The frozen bases recomputed the same
    (most of them) are found over the columns (``unchanged_bases``): a person all of whose frozen bases are the
    same gets what ``gate_person`` gives them, their new bases of a paying benefit but for those of a benefit and
    month already frozen, published as they are (over the columns, with everyone without frozen bases); the others
    are gated one by one, their versions read."""
    frozen, last, answered, seen = gate_state(state)
    compared = [person_key for person_key in bucket.views if person_key in frozen]
    unchanged = unchanged_bases(current, policy.bases, {person_key: frozen[person_key] for person_key in compared})
    gated = [person_key for person_key in compared if len(unchanged.get(person_key, ())) < len(frozen[person_key])]
    one_by_one = set(gated)
    settled = [(person_key, *key) for person_key in compared if person_key not in one_by_one
               for key in frozen[person_key]]
    bucket.load(gated)
    flags_of_person = flags_by_person(out.flags, gated)
    of_gated = pc.is_in(out.bases.table.column("person_key"), pa.array(gated, pa.string()))
    to_compare = _bases_of(out.bases, of_gated)
    published: list[ReferenceBase] = []
    for person_key in gated:
        now, decisions, notices = gate_person(
            bucket.views[person_key], flags_of_person[person_key], to_compare.get(person_key, []),
            frozen[person_key], last.get(person_key, {}), policy=policy, as_of=as_of,
            open_requests=set(gate.open_requests.get(person_key, ())), officer=gate.officer,
            estimator=gate.estimator, seen=frozenset(seen.get(person_key, ())),
            answered=answered.get(person_key, {}), unchanged=unchanged.get(person_key, frozenset()))
        published.extend(now)
        out.decisions.extend(decisions)
        out.notices.extend(notices)
    out.published = _published(out.bases, of_gated, published, paying_benefits(policy, as_of), settled)


def gate_state(state: BucketState) -> tuple[dict, dict, dict, dict[str, set[str]]]:
    """What the gate reads of a bucket's register, person by person: the latest frozen base, the latest decision
    and the latest officer's decision on each (benefit, month M), and the ids of the decisions taken on them."""
    def by_base(item) -> tuple[str, str, str]:
        return item.person_key, item.benefit, item.reference_month
    frozen = _by_person(_latest(state.frozen, by_base, lambda b: b.as_of))
    last = _by_person(_latest(state.decisions, by_base, lambda d: d.as_of))
    answered = _by_person(_latest([d for d in state.decisions if d.rule_id == OFFICER_RULE.id], by_base,
                                  lambda d: d.as_of))
    seen: dict[str, set[str]] = {}
    for decision in state.decisions:
        seen.setdefault(decision.person_key, set()).add(decision.decision_id)
    return frozen, last, answered, seen


def _bases_of(bases: BaseRows, of_gated: pa.ChunkedArray) -> dict[str, list[ReferenceBase]]:
    """The bases of the people the gate compares one by one (``of_gated``: a mask over ``bases``) as records, by
    person (in their order among ``bases``)."""
    out: dict[str, list[ReferenceBase]] = {}
    for base in REFERENCE_BASE.from_table(bases.table.filter(of_gated)):
        out.setdefault(base.person_key, []).append(base)
    return out


def _published(bases: BaseRows, of_gated: pa.ChunkedArray, gated: list[ReferenceBase], paying: set[str],
               frozen: list[tuple[str, str, str]]) -> BaseRows:
    """The bases the gate publishes now, person by person in key order: of the people it compared one by one
    (those of ``of_gated``, a mask over ``bases``), those ``gate_person`` gave (``gated``, in that order); of
    everyone else, each base of a paying benefit as it is, but for those already frozen (``frozen``: (person,
    benefit, month M) of the people with frozen bases none of which changed): what ``gate_person`` gives them,
    over the columns."""
    table = bases.table
    keep = pc.and_(pc.invert(of_gated), pc.is_in(table.column("benefit"), pa.array(sorted(paying), pa.string())))
    if frozen:
        keys = pc.binary_join_element_wise(*(table.column(name) for name in ("person_key", "benefit",
                                                                             "reference_month")), "\x1f")
        keep = pc.and_(keep, pc.invert(pc.is_in(keys, pa.array(["\x1f".join(key) for key in frozen], pa.string()))))
    others = table.filter(keep)
    parts = [part for part in (others, REFERENCE_BASE.table(gated)) if part.num_rows]
    if not parts:
        return BaseRows(REFERENCE_BASE.arrow.empty_table())
    # each person's bases come from one of the two, in its order: a stable sort by person (as Arrow's are)
    merged = pa.concat_tables(parts)
    return BaseRows(merged.take(pc.sort_indices(merged, [("person_key", "ascending")])).combine_chunks())


def process_bucket(prior: BucketState, *, known: list[Declaration], arriving: list[Declaration],
                   contributions: list[Contribution], mentions: Sequence[Mention], run_id: str, as_of: str,
                   policy: Policy, rules: list[Rule], declarant_rows: list[dict], gate: GateInputs | None = None,
                   ) -> BucketResult:
    fresh, added, versions = merge_columns(known=known, contributions=prior.contributions, versions=prior.versions,
                                           arriving=arriving, new_contributions=unique_contributions(contributions),
                                           run_id=run_id)
    new_mentions = fresh_mention_rows(mentions, {d.digest for d in fresh})
    after = BucketState(joined(prior.contributions, added), joined(prior.mentions, new_mentions),
                        joined(prior.versions, versions), prior.frozen, prior.decisions)
    declarants: dict[str, list[int]] = {}
    for declarant_id, version, count in first_versions(versions):
        declarants.setdefault(declarant_id, [0, 0])[version - 1] += count
    derived = derive(after, list(known) + fresh, declarant_rows, as_of, policy, rules, gate)
    return BucketResult(added, new_mentions, versions, derived, declarants)
