"""The register stage of one run, in process: what the Beam edge's steps (``transforms.versioning``) call,
and what the bench and the tests call directly.

Declarations (one small row each) go by shard of their slot: ``index_shard`` writes the run's new ones to
the register and parks the arriving and known ones in the staging folder; ``merge_bucket`` reads of both only
the slots its people are in, merges what arrived into the bucket's register, derives flags, bases and gate
decisions as of the run's transaction time and writes them as staged partitions; ``finish`` writes the run's
declarant rows and totals. A bucket reads of its own history the months still open
(``gateway.versioning.horizon``), all of it when the run changes a settled month.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.bucket import BucketResult, GateInputs, process_bucket
from gateway.faults import checkpoint
from gateway.gate.estimate import estimator_named
from gateway.gate.officer import load_answers
from gateway.months import add_months, day_of_instant, due_date, month_of_instant, next_month
from gateway.policy import Policy
from gateway.publish.datasets import BUCKETS as BUCKET_COUNT, bucket_of, write_partition
from gateway.publish.notices import write_notices
from gateway.publish.spill import SPILL, Segment, read_objects, spill_objects, spill_together
from gateway.records import Outcome
from gateway.storage import list_files, write_bytes
from gateway.validate.registry import Rule, Target
from gateway.versioning import store
from gateway.versioning.horizon import settled
from gateway.versioning.columns import CONTRIBUTIONS, ContributionRows, codes, contribution_rows, contribution_table
from gateway.versioning.mentions import MENTIONS, MentionRows, mention_rows, mention_table
from gateway.versioning.register import (Declaration, arrival_order, becoming_current, current_declarations,
                                         declaration_of_summary)
from schemas.records import FLOATING_FLAG, GATE_DECISION, REFERENCE_BASE, ResourceRows, column_values


class ShardIndex(NamedTuple):
    """What a declarations shard's step hands the buckets (a side input): staged files, not declarations."""

    shard: int
    arriving: str          # the run's declarations of the shard (staged, pickled)
    known: str             # the register's declarations of the shard, before the run (staged, pickled)
    fresh: int             # how many of the arriving ones the register did not know
    settles: bool          # whether one of them supersedes a declaration with amounts in a settled month
    superseded: tuple[str, ...] = ()   # digests of the declarations the run's ones supersede (their people lose
                                       # amounts there: re-examined even when the run brings them nothing)


@dataclass(frozen=True)
class RegisterJob:
    """What the register stage of one run needs (picklable: it travels to workers)."""

    root: str
    run_id: str
    committed: tuple[str, ...]        # runs visible in the register
    arrivals: tuple[tuple[str, str], ...]   # file label -> transaction time
    as_of: str                        # the run's transaction time (latest arrival)
    policy_path: str | None
    buckets: int
    write: bool                       # False when this run is already committed (a rerun adds nothing)
    open_requests: tuple[tuple[str, str], ...] = ()   # (person, month) with a correction request open
    # buckets re-examined though nothing arrives for them: those holding PENDING or NOTIFIED decisions (a day may
    # have passed, or a revision rate moved) and those whose open correction requests changed
    revisit: tuple[int, ...] = ()
    first_open: str | None = None     # the first month still open at as_of (gateway.versioning.horizon)
    recent: tuple[str, ...] | None = None     # committed runs with rows of open months (None: all of them)
    arrivals_file: str | None = None  # the arrivals staged (gateway.publish.spill), not pickled into every step
    derivation: str = ""              # what the run derives under (``derivation``), recorded with its commit
    # (bucket, when) of the buckets last derived under the same derivation, and when: there, only the people the
    # run concerns are re-derived (``concerned``); elsewhere everyone.
    incremental: tuple[tuple[int, str], ...] = ()
    # (declarant, transaction time) of the runs since the earliest of those derivations: a declarant with a
    # row after a bucket's derivation has another revision rate than the one its people were flagged with; only
    # those whose rate shows in a flag (volatile at some moment since: ``view.rates_that_show``).
    rates_moved: tuple[tuple[str, str], ...] = ()
    # (table, version) of every register table as the driver found it (``store.Tables.pin``): what every
    # reader of the run reads
    pins: tuple[tuple[str, int], ...] = ()

    def tables(self) -> store.Tables:
        """The register's tables at the versions the run pinned (shared within a process)."""
        return store.Tables(self.root, self.pins)

    def derived_at(self, bucket: int) -> str | None:
        """When ``bucket`` was last derived under this run's derivation (None: elsewhere, everyone is)."""
        return next((at for number, at in self.incremental if number == bucket), None)

    def arrival_times(self) -> dict[str, str]:
        """File label -> transaction time: from the staged file when there is one."""
        return read_objects(self.arrivals_file) if self.arrivals_file else dict(self.arrivals)

    def staged(self, staging: str) -> "RegisterJob":
        """The job with its arrivals parked in the staging folder: what travels to the workers stays small
        however many files the run has."""
        if self.arrivals_file or not self.arrivals:
            return self
        return replace(self, arrivals=(), arrivals_file=spill_objects(staging, "inputs", dict(self.arrivals)))


def request_marks(open_requests: Iterable[tuple[str, str]], buckets: int) -> dict[int, str]:
    """Bucket -> a digest of its people's open correction requests (buckets without any are absent): recorded with
    each bucket a run derives, so that a later run knows whether a request opened or closed there since."""
    by_bucket: dict[int, list[str]] = {}
    for person, month in sorted(set(open_requests)):
        by_bucket.setdefault(bucket_of(person, buckets), []).append(f"{person}|{month}")
    return {bucket: hashlib.sha256("\n".join(items).encode()).hexdigest()[:12] for bucket, items in by_bucket.items()}


def derived_buckets(buckets: Iterable[int], marks: dict[int, str]) -> str | None:
    """The ``buckets`` column of a run's commit: each bucket it derived, with its request mark (``07:3fa2…``)."""
    return " ".join(f"{bucket}:{marks[bucket]}" if bucket in marks else str(bucket) for bucket in buckets) or None


def _last_derived(commits: list[store.Commit]) -> dict[int, tuple[str, str, str]]:
    """Bucket -> (derivation, transaction time, request mark) of the last commit that derived it. A commit that
    derived under an unknown derivation (an officer's forced version, a register from before) leaves no bucket
    known."""
    last: dict[int, tuple[str, str, str]] = {}
    for commit in commits:
        if not commit.derivation:
            last.clear()
            continue
        for token in (commit.buckets or "").split():
            bucket, _, mark = token.partition(":")
            last[int(bucket)] = (commit.derivation, commit.transaction_time, mark)
    return last


def incremental_buckets(commits: list[store.Commit], derived_under: str, as_of: str,
                        marks: dict[int, str] | None = None) -> tuple[dict[int, str], set[int]]:
    """Of the buckets the ``commits`` (in commit order) derived: those last derived at or before ``as_of`` under
    ``derived_under`` and with the same open requests (``marks``, ``request_marks``), with the time of that
    derivation (there, a run re-examines only the people it concerns); and those where a correction request
    opened or closed since they were last derived, or that hold one and were never derived under a known
    derivation (their people's gate decisions may change though nothing arrives for them)."""
    marks = marks or {}
    last = _last_derived(commits)
    same = {bucket: at for bucket, (under, at, mark) in last.items()
            if derived_under and under == derived_under and at <= as_of and mark == marks.get(bucket, "")}
    moved = {bucket for bucket in {*last, *marks} if marks.get(bucket, "") != last.get(bucket, ("", "", ""))[2]}
    return same, moved


def derivation(as_of: str, policy: Policy, buckets: int) -> str:
    """What a run's flags, bases and decisions depend on besides each person's rows and the day: the month of
    its transaction time (reference months, volatility windows, settled months, recovery limits all move by
    whole months), whether the gate applies yet (its ``effective_from`` day), the policy, and the gateway's
    release with its floating rules; with the register's bucket count, as the buckets a commit records as
    derived are numbered by it (after a resize (gateway.versioning.sizing), the next run re-derives everyone it
    touches). Two runs under the same one give a person the same flags, bases and decisions when nothing of
    theirs changed in between and no day-bound output of theirs moved (a due date crossed, a contradictory
    period ended): the later run re-examines only the people it concerns (``concerned``;
    tests/gateway/versioning/test_incremental_register.py compares it with re-deriving everyone, run after run,
    on several days of each month)."""
    from gateway import __version__
    rules = "|".join(f"{rule.id}:{rule.explain}" for rule in registry_rules())
    gated = day_of_instant(as_of) >= policy.gate.effective_from if as_of else False
    text = f"{month_of_instant(as_of)}|{gated}|{policy.digest}|{__version__}|{rules}|{buckets}" if as_of else ""
    return hashlib.sha256(text.encode()).hexdigest()[:24] if text else ""


def registry_rules(target: Target = Target.FLOATING) -> list[Rule]:
    from gateway.validate.rules import default_registry
    return [rule for rule in default_registry() if rule.target is target]


def gate_inputs(root: str, open_requests: tuple[tuple[str, str], ...], estimator: str,
                tables: store.Tables | None = None) -> GateInputs:
    months: dict[str, set[str]] = {}
    for person_key, month in open_requests:
        months.setdefault(person_key, set()).add(month)
    return GateInputs({k: frozenset(v) for k, v in months.items()}, load_answers(root, tables),
                      estimator_named(estimator))


# --- spilling a run's outcomes ------------------------------------------------------------------------------

SHARDS = "register/shards"                # staged: each shard's index and the buckets it touches


BUCKETS = "register/buckets"              # staged: each task's contributions and mentions, a segment per bucket


def record_bucket(staging: str, bucket: int, segments: Iterable[Segment]) -> str:
    """Where a bucket's contributions and mentions are (the segments of the tasks' files), noted in the bucket's
    folder for the bucket step (:func:`bucket_inputs`)."""
    return spill_objects(staging, f"{BUCKETS}/bucket={bucket:02d}", sorted(segments))


def _declarations_of(outcome: Outcome, arrivals: dict[str, str], as_of: str):
    """Each accepted declaration as the register keeps it (one small row: no people lists in the side input)."""
    for summary in outcome.summaries:
        yield declaration_of_summary(summary, arrivals.get(summary.file, as_of))


def spill_outcome(job: RegisterJob, staging: str, outcome: Outcome, arrivals: dict[str, str],
                  ) -> tuple[list[tuple[int, Segment]], list[tuple[int, Segment]]]:
    """An outcome's declarations by shard and its contributions and mentions by person bucket, parked in the
    staging folder, the shards' in one file and the buckets' in another: ([(shard, segment)], [(bucket,
    segment)]) (:func:`record_bucket` notes where each bucket's are for the bucket step)."""
    contributions = contribution_rows(outcome.resources).table
    # as they are pickled (a declaration's repeated values as dictionaries): one declaration may list 200,000 people
    mentions = MentionRows.packed(mention_rows(outcome).table)
    # Per shard: the declarations, and of each declaration (whose parts may travel apart) the earliest
    # month it attributes amounts to and the person buckets of the people it lists.
    shards: dict[int, tuple[list, dict[str, str], dict[str, set[int]]]] = {}

    def notes(slot: str):
        return shards.setdefault(store.shard_of(slot, job.buckets), ([], {}, {}))
    for row in _declarations_of(outcome, arrivals, job.as_of):
        notes(row.slot)[0].append(row)
    of_row = _buckets_of(contributions, job.buckets)
    spread = contributions.append_column("bucket", of_row).group_by(["slot", "digest", "bucket"], use_threads=False) \
        .aggregate([("month", "min")])
    for slot, digest, bucket, month in zip(*(spread.column(name).to_pylist()
                                            for name in ("slot", "digest", "bucket", "month_min"))):
        months, people_of = notes(slot)[1], notes(slot)[2]
        months[digest] = min(months.get(digest, month), month)
        people_of.setdefault(digest, set()).add(bucket)
    of_mention = _buckets_of(mentions, job.buckets)
    listed = mentions.select(["slot", "digest"]).append_column("bucket", of_mention) \
        .group_by(["slot", "digest", "bucket"], use_threads=False).aggregate([])
    for slot, digest, bucket in zip(*(listed.column(name).to_pylist() for name in ("slot", "digest", "bucket"))):
        notes(slot)[2].setdefault(digest, set()).add(bucket)
    by_shard = _spilled_together(staging, "register/declarations", shards)
    buckets: dict[int, tuple[ContributionRows | list, MentionRows | list]] = {}
    for bucket, rows in _split(contributions, of_row).items():
        buckets[bucket] = (rows, [])
    for bucket, rows in _split(mentions, of_mention, MentionRows).items():
        buckets[bucket] = (buckets.get(bucket, ([], []))[0], rows)
    del contributions, mentions, spread, listed        # what the buckets do not hold, freed before the pickles
    return by_shard, _spilled_together(staging, f"{BUCKETS}/tasks", buckets)


def _buckets_of(contributions: pa.Table, buckets: int) -> pa.Array:
    """The person bucket of each row (``bucket_of`` once per person)."""
    people, texts = codes(contributions.column("person_key"))
    return pa.array(np.array([bucket_of(person, buckets) for person in texts], dtype=np.int64)[people])


def split_by_bucket(table: pa.Table, buckets: int = BUCKET_COUNT, rows: type = ContributionRows
                    ) -> dict[int, ResourceRows]:
    """Contributions (a table of them; or mentions, with ``rows`` MentionRows) by person bucket (``bucket_of``), each
    bucket's as ``rows``, in their order."""
    return _split(table, _buckets_of(table, buckets), rows)


def _split(table: pa.Table, of_row: pa.Array, rows: type = ContributionRows) -> dict[int, ResourceRows]:
    """Each bucket's rows (of ``of_row``'s, as ``rows``), in their order: one stable sort by bucket, then a slice a
    bucket."""
    if not table.num_rows:
        return {}
    order = pc.sort_indices(of_row)                  # stable (Arrow's sorts are)
    buckets = of_row.take(order).to_numpy()
    starts = np.flatnonzero(np.diff(buckets, prepend=-1))
    ordered = table if len(starts) == 1 else table.take(order)       # one bucket: the rows as they are
    stops = np.append(starts[1:], len(buckets))
    return {int(buckets[start]): rows(ordered, int(start), int(stop))
            for start, stop in zip(starts.tolist(), stops.tolist())}


def _spilled_together(staging: str, folder: str, groups: dict[int, object]) -> list[tuple[int, Segment]]:
    """(number, segment) of each group (shard or bucket), in number order, all in one staged file."""
    numbers = sorted(groups)
    return list(zip(numbers, spill_together(staging, folder, [groups[number] for number in numbers])))


# --- one shard of declarations ------------------------------------------------------------------------------

def _arriving(paths: Iterable[Segment | None]) -> list[Declaration]:
    """The run's declarations of a shard, each received once (its first copy), with the earliest month it
    attributes amounts to and the buckets of the people it lists."""
    declarations, months, people = [], {}, {}
    for path in sorted(p for p in paths if p is not None):     # None: every shard is indexed, even without arrivals
        rows, part_months, part_people = read_objects(path)
        declarations.extend(rows)
        for digest, month in part_months.items():
            months[digest] = min(months.get(digest, month), month)
        for digest, buckets in part_people.items():
            people.setdefault(digest, set()).update(buckets)
    first: dict[str, Declaration] = {}                  # a declaration received twice: its first copy
    for declaration in sorted(declarations, key=arrival_order):
        digest = declaration.digest
        first.setdefault(digest, replace(declaration, first_month=months.get(digest, ""),
                                         buckets=" ".join(f"{b:02d}" for b in sorted(people.get(digest, ())))))
    return list(first.values())


def _superseded(known: list[Declaration], fresh: list[Declaration]) -> list[Declaration]:
    """The declarations that fresh ones supersede in their slots, as the merge will apply them."""
    return [previous for _, previous in becoming_current(current_declarations(known), fresh) if previous is not None]


def index_shard(job: RegisterJob, staging: str, shard: int, paths: Iterable[Segment | None]) -> tuple[ShardIndex, list[int]]:
    """One shard of the run's declarations -> the run's part of the register for that shard, the shard's index
    for the buckets, and the buckets of the people a superseded declaration listed (one it no longer lists
    loses its amounts there, even when nothing else arrives for that bucket)."""
    root = job.root
    known = store.load_declarations(root, job.committed, shards=[shard], tables=job.tables())
    known_digests = {d.digest for d in known}
    arriving = _arriving(paths)
    fresh = [d for d in arriving if d.digest not in known_digests]
    if job.write and fresh:
        store.write_run_part(root, "declarations", job.run_id, fresh, shard=shard)   # sorted: byte-stable
    superseded = _superseded(known, fresh)
    settles = job.first_open is not None and any(settled(d.first_month, job.first_open) for d in superseded)
    index = ShardIndex(shard, spill_objects(staging, f"register/index/shard={shard:02d}", arriving),
                       spill_objects(staging, f"register/known/shard={shard:02d}", known), len(fresh), settles,
                       tuple(sorted({d.digest for d in superseded})))
    touched = {int(b) for d in superseded for b in (d.buckets.split() if d.buckets is not None
                                                     else range(job.buckets))}
    return index, sorted(touched)


def record_shard(staging: str, index: ShardIndex, touched: list[int]) -> str:
    """A shard's index and touched buckets, parked for the bucket step (a second pipeline: no side input)."""
    return spill_objects(staging, f"{SHARDS}/shard={index.shard:02d}", (index, touched))


def bucket_inputs(job: RegisterJob, staging: str) -> tuple[list[ShardIndex], list[tuple[int, tuple[Segment, ...]]]]:
    """What the bucket step reads, from the staging folder once every shard is indexed: the shards' index, and
    each bucket to merge with its spilled contributions and mentions (buckets of arrivals, of people a superseded
    declaration listed, and those to revisit; the last two may have no file)."""
    index, touched = [], set(job.revisit)
    for path in list_files(f"{staging}/{SPILL}/{SHARDS}"):
        entry, buckets = read_objects(path)
        index.append(entry)
        touched.update(buckets)
    files = {bucket: tuple(sorted(segment for noted in list_files(f"{staging}/{SPILL}/{BUCKETS}/bucket={bucket:02d}")
                                  for segment in read_objects(noted)))
             for bucket in range(job.buckets)}
    return sorted(index), [(bucket, paths) for bucket, paths in sorted(files.items()) if paths or bucket in touched]


# --- one bucket of people -----------------------------------------------------------------------------------

def _of_slots(index: list[ShardIndex], slots: set[str], shards: set[int], which: str) -> list[Declaration]:
    """The declarations of ``slots`` (in ``shards``) that arrive in the run (``which="arriving"``) or that the
    register knows (``"known"``), from the shards' staged files, a shard at a time: a bucket opens one file per
    shard, however many runs the register holds."""
    return [d for entry in sorted(index) if entry.shard in shards
            for d in read_objects(getattr(entry, which)) if d.slot in slots]


def _spilled(paths: Iterable[Segment | None]) -> tuple[ContributionRows, list]:
    """A bucket's contributions (as one table of rows) and mentions, from the tasks' spilled segments."""
    tables, listed = [], []
    for path in sorted(p for p in paths if p is not None):      # none: a bucket with pending decisions
        spilled_contributions, spilled_mentions = read_objects(path)
        tables.append(contribution_table(spilled_contributions))
        listed.append(mention_table(spilled_mentions))
    return ContributionRows(pa.concat_tables(tables).combine_chunks() if tables else CONTRIBUTIONS.empty_table()), \
        MentionRows(pa.concat_tables(listed).combine_chunks() if listed else MENTIONS.empty_table())


def values_of(items: Sequence, name: str) -> set:
    """The distinct values of a field of some items: records, or rows read from their column."""
    if isinstance(items, ResourceRows):
        return set(pc.unique(items.table.column(name)).to_pylist())
    return {getattr(item, name) for item in items}


@dataclass(frozen=True)
class BucketContext:
    """What every bucket of a run shares, loaded once per worker."""

    policy: Policy
    rules: list[Rule]
    gate: GateInputs
    tables: store.Tables        # the register's tables, each log read once for every bucket of the run

    @classmethod
    def load(cls, job: RegisterJob) -> "BucketContext":
        from gateway.policy import load_policy
        policy = load_policy(job.policy_path)
        tables = job.tables()
        return cls(policy, registry_rules(), gate_inputs(job.root, job.open_requests, policy.gate.estimator, tables),
                   tables)


def concerned(job: RegisterJob, context: BucketContext, bucket: int, derived_at: str, contributions: list,
              mentions: list, index: list[ShardIndex], runs: tuple[str, ...], since: str | None) -> set[str]:
    """The people of a bucket a run re-examines when the bucket was last derived under the same ``derivation`` (the
    same month) and with the same open correction requests: those it brings rows for, those a declaration it
    supersedes listed, those with a decision an officer answered, or declared by a declarant whose revision rate
    (part of a flag's score) moved since; and on a later day than that derivation, those whose outputs move with
    the day alone: a NOTIFIED decision whose contradictory period has ended, or a contract open in a month whose
    next month fell due since (DRM-FLT-005). Anyone else would get the flags, bases and decisions
    the last run gave them: nothing of theirs changed, nor the month, the policy, the release or the requests."""
    people = values_of(contributions, "person_key") | values_of(mentions, "person_key")
    people |= store.concerned_people(job.root, bucket, runs, since=since,
                                     digests={digest for entry in index for digest in entry.superseded},
                                     decision_ids=context.gate.officer,
                                     declarants={declarant for declarant, at in job.rates_moved if at >= derived_at},
                                     tables=context.tables)
    if day_of_instant(derived_at) != day_of_instant(job.as_of):        # a later day of the same month
        today = date.fromisoformat(day_of_instant(job.as_of))
        notified_by = (today - timedelta(days=context.policy.gate.contradictory_days)).isoformat()
        people |= store.dated_people(job.root, bucket, runs, since=since, tables=context.tables,
                                     notified_by=notified_by,
                                     contract_months=missing_months(derived_at, job.as_of,
                                                                    context.policy.floating.missing_due_day))
    return people


def missing_months(derived_at: str, as_of: str, due_day: int) -> list[str]:
    """The months M whose next month fell due (DRM-FLT-005: the ``due_day`` of M+2) after the day of ``derived_at``
    and by the day of ``as_of``: a contract open in M may now be flagged as missing its next month."""
    after, until = day_of_instant(derived_at), day_of_instant(as_of)
    months, month = [], add_months(month_of_instant(derived_at), -2)
    while month <= add_months(month_of_instant(as_of), -2):
        if after < due_date(next_month(month), due_day) <= until:
            months.append(month)
        month = next_month(month)
    return months


def _merged(job: RegisterJob, context: BucketContext, bucket: int, contributions: list, mentions: list,
            index: list[ShardIndex]) -> BucketResult:
    root = job.root
    whole = (job.first_open is None or any(entry.settles for entry in index)
             or any(month < job.first_open for month in values_of(contributions, "month")))
    # Open months only, unless this run changes a settled month: then the whole history, so that the
    # merge versions it exactly (the outputs use open months either way).
    runs, since = (job.committed, None) if whole else (job.committed if job.recent is None else job.recent,
                                                       job.first_open)
    derived_at = job.derived_at(bucket)
    people = (None if derived_at is None
              else concerned(job, context, bucket, derived_at, contributions, mentions, index, runs, since))
    prior = store.load_bucket(root, bucket, runs, since=since, tables=context.tables, people=people)
    # Of the register's declarations and declarant rows, those of the slots and declarants of the bucket's
    # people: all that merge and the views need.
    every = (prior.contributions, prior.mentions, contributions, mentions)
    slots = set().union(*(values_of(items, "slot") for items in every))
    shards = {store.shard_of(slot, job.buckets) for slot in slots}
    declarants = set().union(*(values_of(items, "declarant_id") for items in every))
    declarant_rows = store.load_declarant_rows(root, job.committed, declarants=declarants, tables=context.tables)
    return process_bucket(prior, known=_of_slots(index, slots, shards, "known"),
                          arriving=_of_slots(index, slots, shards, "arriving"), contributions=contributions,
                          mentions=mentions, run_id=job.run_id, as_of=job.as_of, policy=context.policy,
                          rules=context.rules, declarant_rows=declarant_rows, gate=context.gate)


def _by_person(items: Sequence) -> Sequence:
    """Bases or decisions by person, benefit and reference month (the order they are written in; ties keep
    their order)."""
    if isinstance(items, ResourceRows):            # Arrow's sorts are stable, as ``sorted``
        table = items.table
        return type(items)(table.take(pc.sort_indices(
            table, [(name, "ascending") for name in ("person_key", "benefit", "reference_month")])))
    return sorted(items, key=lambda b: (b.person_key, b.benefit, b.reference_month))


def _flags_by_rule(flags: Sequence) -> dict[str, list[int]]:
    """Floating flags per rule: how many, and their scores summed as integers (the same sum in any order); from
    the columns (``FLOATING_FLAG.table`` of rows is their table)."""
    from gateway.publish.metrics import SCORE_UNIT
    table = FLOATING_FLAG.table(flags)
    out: dict[str, list[int]] = {}
    for rule_id, score in zip(column_values(table.column("rule_id")), table.column("score").to_pylist()):
        entry = out.setdefault(rule_id, [0, 0])
        entry[0] += 1
        entry[1] += round(score * SCORE_UNIT)
    return out


def _count(kinds) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind in kinds:
        out[kind] = out.get(kind, 0) + 1
    return out


def merge_bucket(job: RegisterJob, staging: str, context: BucketContext, bucket: int, paths: Iterable[Segment | None],
                 index: list[ShardIndex]) -> RegisterFigures:
    """Merge one bucket's arrivals into the register, write its flags, bases, published bases and decisions as
    staged partitions; return its figures."""
    contributions, mentions = _spilled(paths)
    result = _merged(job, context, bucket, contributions, mentions, index)
    derived = result.derived
    if job.write:
        root = job.root
        store.write_bucket(root, bucket, job.run_id, result.contributions, result.mentions, result.versions,
                           derived.published, derived.decisions)
        checkpoint("register")
    part = f"part-{bucket:02d}"
    write_partition(staging, "flags", part, FLOATING_FLAG, derived.flags, avro=False)
    write_partition(staging, "bases", part, REFERENCE_BASE, _by_person(derived.bases), avro=False)
    if derived.published:
        write_partition(staging, "published", part, REFERENCE_BASE, _by_person(derived.published), avro=True)
    if derived.decisions:
        write_partition(staging, "decisions", part, GATE_DECISION, _by_person(derived.decisions), avro=True)
    write_notices(staging, derived.notices)
    return RegisterFigures(
        buckets=[bucket], versions_added=len(result.versions), flags=len(derived.flags), bases=len(derived.bases),
        published=len(derived.published), decisions=_count(d.kind for d in derived.decisions),
        months={f"{d}|{n}": counts for (d, n), counts in result.derived.months.items()},
        declarants=result.declarants, flags_by_rule=_flags_by_rule(derived.flags),
        last_month=max((month for items in (result.contributions, result.mentions, result.versions)
                        for month in values_of(items, "month")), default=""))


# --- the run's totals ---------------------------------------------------------------------------------------

@dataclass
class RegisterFigures:
    """What a run's register stage did: a bucket's figures, or their sum over the run."""

    versions_added: int = 0
    flags: int = 0
    bases: int = 0
    published: int = 0
    decisions: dict[str, int] = field(default_factory=dict)          # gate decisions by kind
    months: dict[str, list[int]] = field(default_factory=dict)       # "declarant|nature" -> [months, revised]
    declarants: dict[str, list[int]] = field(default_factory=dict)   # declarant -> [first known, first revised]
    flags_by_rule: dict[str, list[int]] = field(default_factory=dict)  # rule -> [flags, scores in SCORE_UNIT]
    last_month: str = ""                                            # the latest month the run wrote rows for
    declarations_added: int = 0
    buckets: list[int] = field(default_factory=list)                # the buckets merged (and derived)

    def add(self, other: "RegisterFigures") -> "RegisterFigures":
        """``other`` added to these figures, in place."""
        for name in ("versions_added", "flags", "bases", "published", "declarations_added"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.last_month = max(self.last_month, other.last_month)
        self.buckets = sorted({*self.buckets, *other.buckets})
        for kind, count in other.decisions.items():
            self.decisions[kind] = self.decisions.get(kind, 0) + count
        for table, source in ((self.months, other.months), (self.declarants, other.declarants),
                              (self.flags_by_rule, other.flags_by_rule)):
            for key, counts in source.items():
                current = table.setdefault(key, [0, 0])
                table[key] = [current[0] + counts[0], current[1] + counts[1]]
        return self

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def read(cls, path: Path) -> "RegisterFigures":
        """The figures a run's staging folder holds (none when the run had no register stage)."""
        return cls(**json.loads(path.read_text())) if path.exists() else cls()


def finish(job: RegisterJob, staging: str, total: RegisterFigures, index: list[ShardIndex]) -> RegisterFigures:
    """The run's declarant rows into the register, and its totals into the staging folder."""
    total = replace(total, declarations_added=sum(entry.fresh for entry in index))
    if job.write:
        root = job.root
        rows = [{"declarant_id": d, "months_added": c[0], "months_revised": c[1],
                 "transaction_time": job.as_of} for d, c in sorted(total.declarants.items())]
        store.write_run_part(root, "declarants", job.run_id, rows)
    write_bytes(f"{staging}/_register.json", total.to_json())
    return total


__all__ = ["BucketContext", "RegisterFigures", "RegisterJob", "ShardIndex", "bucket_inputs", "concerned", "derivation",
           "derived_buckets", "finish", "gate_inputs", "incremental_buckets", "index_shard", "merge_bucket",
           "record_bucket", "record_shard", "registry_rules", "request_marks", "spill_outcome"]
