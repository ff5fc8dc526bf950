"""Outcomes -> the register merged bucket by bucket, floating flags and reference-period bases.

People travel in buckets (a stable hash of the pseudonym): each worker reads only its bucket's prior
state from the register, merges the declarations that arrived, and derives the flags and bases of
the bucket's people as of the run's transaction time. Declarations (one small row each) go by shard of
their slot: a shard's step writes the run's new ones to the register and parks the arriving ones in the
staging folder; a bucket reads of both only the slots its people are in (the shards' list is a side input).
A bucket reads of its own history the months still open (gateway.versioning.horizon), all of it when the run
changes a settled month; the buckets of the people a superseded declaration listed are merged too.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import apache_beam as beam

from gateway import log, memory
from gateway.faults import checkpoint
from gateway.policy import load_policy
from gateway.publish.datasets import bucket_of, write_partition
from gateway.storage import write_bytes
from gateway.publish.spill import read_objects, spill_objects
from gateway.records import Outcome
from gateway.versioning import store
from gateway.gate.estimate import estimator_named
from gateway.gate.officer import load_answers
from gateway.validate.registry import Target
from gateway.bucket import GateInputs, process_bucket
from gateway.versioning.horizon import settled
from gateway.versioning.register import (Declaration, arrival_order, becoming_current, contributions_of,
                                         current_declarations, declaration_of_summary, mentions_of)
from schemas.records import FLOATING_FLAG, GATE_DECISION, REFERENCE_BASE


DECLARATIONS = "declarations"
SUPERSEDED = "superseded"


class ShardIndex(NamedTuple):
    """What a declarations shard's step hands the buckets (a side input): staged files, not declarations."""

    shard: int
    arriving: str          # the run's declarations of the shard (staged, pickled)
    known: str             # the register's declarations of the shard, before the run (staged, pickled)
    fresh: int             # how many of the arriving ones the register did not know
    settles: bool          # whether one of them supersedes a declaration with amounts in a settled month


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
    pending_buckets: tuple[int, ...] = ()      # buckets holding PENDING gate decisions: re-examined every run
    first_open: str | None = None     # the first month still open at as_of (gateway.versioning.horizon)
    recent: tuple[str, ...] | None = None     # committed runs with rows of open months (None: all of them)
    compact_every: int = 0            # compact a folder's parts every so many runs (0: never)


def _registry_rules(target: Target = Target.FLOATING):
    import gateway.validate.rules  # noqa: F401  (registers the default catalogue)
    from gateway.validate.registry import DEFAULT_RULES
    return [rule for rule in DEFAULT_RULES if rule.target is target]


def gate_inputs(root: Path, open_requests: tuple[tuple[str, str], ...], estimator: str) -> GateInputs:
    months: dict[str, set[str]] = {}
    for person_key, month in open_requests:
        months.setdefault(person_key, set()).add(month)
    return GateInputs({k: frozenset(v) for k, v in months.items()}, load_answers(root), estimator_named(estimator))


class _IndexShard(beam.DoFn):
    """One shard of the run's declarations (by slot) -> the run's part of the register for that shard; the
    arriving declarations and the register's declarations of the shard parked in the staging folder for the
    buckets (each bucket then opens one file per shard, however many runs the register holds); the buckets
    of the people a superseded declaration listed. No step holds the register's declarations, nor all of a
    run's."""

    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def process(self, element):
        shard, paths = element
        job = self._job
        root = Path(job.root)
        known = store.load_declarations(root, job.committed, shards=[shard])
        known_digests = {d.digest for d in known}
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
        arriving = list(first.values())
        fresh = [d for d in arriving if d.digest not in known_digests]
        if job.write and fresh:
            store.write_run_part(root, "declarations", job.run_id, fresh, shard=shard)   # sorted: byte-stable
        if job.write and job.compact_every:
            store.compact_folder(root, store.shard_folder(root, shard), (*job.committed, job.run_id), job.compact_every)
        superseded = _superseded(known, fresh)
        settles = job.first_open is not None and any(settled(d.first_month, job.first_open) for d in superseded)
        yield ShardIndex(shard, spill_objects(self._staging, f"register/index/shard={shard:02d}", arriving),
                         spill_objects(self._staging, f"register/known/shard={shard:02d}", known), len(fresh), settles)
        # The buckets of the people a superseded declaration listed: one it no longer lists loses its amounts
        # there, even when nothing else arrives for that bucket.
        touched = {int(b) for d in superseded for b in (d.buckets.split() if d.buckets is not None
                                                         else range(job.buckets))}
        for bucket in sorted(touched):
            yield beam.pvalue.TaggedOutput(SUPERSEDED, (bucket, None))


def _superseded(known: list[Declaration], fresh: list[Declaration]) -> list[Declaration]:
    """The declarations that fresh ones supersede in their slots, as the merge will apply them."""
    return [previous for _, previous in becoming_current(current_declarations(known), fresh) if previous is not None]


def _of_slots(index: list[ShardIndex], slots: set[str], shards: set[int], which: str) -> list[Declaration]:
    """The declarations of ``slots`` (in ``shards``) that arrive in the run (``which="arriving"``) or that the
    register knows (``"known"``), from the shards' staged files, a shard at a time: a bucket opens one file per
    shard, however many runs the register holds."""
    return [d for entry in sorted(index) if entry.shard in shards
            for d in read_objects(getattr(entry, which)) if d.slot in slots]


class _MergeBucket(beam.DoFn):
    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def setup(self) -> None:
        log.configure()
        memory.tune_collector()
        self._policy = load_policy(self._job.policy_path)
        self._rules = _registry_rules()
        self._gate = gate_inputs(Path(self._job.root), self._job.open_requests, self._policy.gate.estimator)

    def process(self, element, index):
        bucket, paths = element
        contributions, mentions = [], []
        for path in sorted(p for p in paths if p is not None):      # None: a bucket with pending decisions
            spilled_contributions, spilled_mentions = read_objects(path)
            contributions.extend(spilled_contributions)
            mentions.extend(spilled_mentions)
        job = self._job
        root = Path(job.root)
        whole = (job.first_open is None or any(entry.settles for entry in index)
                 or any(c.month < job.first_open for c in contributions))
        # Open months only, unless this run changes a settled month: then the whole history, so that the
        # merge versions it exactly (the outputs use open months either way).
        prior = (store.load_bucket(root, bucket, job.committed) if whole
                 else store.load_bucket(root, bucket, job.committed if job.recent is None else job.recent,
                                        since=job.first_open, visible=job.committed))
        # Of the register's declarations and declarant rows, those of the slots and declarants of the bucket's
        # people: all that merge and the views need.
        items = [item for items in (prior.contributions, prior.mentions, contributions, mentions) for item in items]
        slots = {item.slot for item in items}
        shards = {store.shard_of(slot, job.buckets) for slot in slots}
        known = _of_slots(index, slots, shards, "known")
        declarant_rows = store.load_declarant_rows(root, job.committed, declarants={item.declarant_id for item in items})
        result = process_bucket(prior, known=known, arriving=_of_slots(index, slots, shards, "arriving"),
                                contributions=contributions, mentions=mentions, run_id=job.run_id, as_of=job.as_of,
                                policy=self._policy, rules=self._rules, declarant_rows=declarant_rows,
                                gate=self._gate)
        derived = result.derived
        if self._job.write:
            store.write_bucket(root, bucket, self._job.run_id, result.contributions, result.mentions, result.versions,
                               derived.published, derived.decisions)
            if job.compact_every:
                store.compact_bucket(root, bucket, (*job.committed, job.run_id), job.compact_every)
            checkpoint("register")
        part = f"part-{bucket:02d}"
        write_partition(self._staging, "flags", part, FLOATING_FLAG, derived.flags, avro=False)
        write_partition(self._staging, "bases", part, REFERENCE_BASE, _by_person(derived.bases), avro=False)
        if derived.published:
            write_partition(self._staging, "published", part, REFERENCE_BASE, _by_person(derived.published), avro=True)
        if derived.decisions:
            write_partition(self._staging, "decisions", part, GATE_DECISION, _by_person(derived.decisions), avro=True)
        yield {"versions_added": len(result.versions), "flags": len(derived.flags),
               "bases": len(derived.bases), "published": len(derived.published),
               "decisions": _count(d.kind for d in derived.decisions),
               "months": {f"{d}|{n}": counts for (d, n), counts in result.derived.months.items()},
               "declarants": result.declarants,
               "last_month": max((item.month for items in (result.contributions, result.mentions, result.versions)
                                  for item in items), default="")}


def _by_person(items: list) -> list:
    return sorted(items, key=lambda b: (b.person_key, b.benefit, b.reference_month))


def _count(kinds) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind in kinds:
        out[kind] = out.get(kind, 0) + 1
    return out


class _SumRegister(beam.CombineFn):
    def create_accumulator(self):
        return {"versions_added": 0, "flags": 0, "bases": 0, "published": 0, "decisions": {}, "months": {},
                "declarants": {}, "last_month": ""}

    def add_input(self, total, item):
        for key in ("versions_added", "flags", "bases", "published"):
            total[key] += item[key]
        total["last_month"] = max(total["last_month"], item["last_month"])
        for kind, count in item["decisions"].items():
            total["decisions"][kind] = total["decisions"].get(kind, 0) + count
        for table in ("months", "declarants"):
            for key, counts in item[table].items():
                current = total[table].setdefault(key, [0, 0])
                total[table][key] = [current[0] + counts[0], current[1] + counts[1]]
        return total

    def merge_accumulators(self, accumulators):
        total = self.create_accumulator()
        for accumulator in accumulators:
            self.add_input(total, accumulator)
        return total

    def extract_output(self, total):
        return total


class _WriteRegisterStats(beam.DoFn):
    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def process(self, total, index):
        total = dict(total, declarations_added=sum(entry.fresh for entry in index))
        if self._job.write:
            rows = [{"declarant_id": d, "months_added": c[0], "months_revised": c[1],
                     "transaction_time": self._job.as_of} for d, c in sorted(total["declarants"].items())]
            store.write_run_part(Path(self._job.root), "declarants", self._job.run_id, rows)
            if self._job.compact_every:
                root = Path(self._job.root)
                store.compact_folder(root, root / "declarants", (*self._job.committed, self._job.run_id),
                                     self._job.compact_every)
        write_bytes(f"{self._staging}/_register.json", json.dumps(total, sort_keys=True).encode())
        yield total


def _declarations_of(outcome: Outcome, arrivals: dict[str, str], as_of: str):
    """Each accepted declaration as the register keeps it (one small row: no people lists in the side input)."""
    for summary in outcome.summaries:
        yield declaration_of_summary(summary, arrivals.get(summary.file, as_of))


class _SpillBuckets(beam.DoFn):
    """An outcome's contributions and mentions, by person bucket, parked in the staging folder; its
    declarations (one small row each) likewise, to a tagged output."""

    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def setup(self) -> None:
        self._arrivals = dict(self._job.arrivals)

    def process(self, outcome: Outcome):
        contributions = contributions_of(outcome.resources)
        mentions = mentions_of(outcome)
        # Per shard: the declarations, and of each declaration (whose parts may travel apart) the earliest
        # month it attributes amounts to and the person buckets of the people it lists.
        shards: dict[int, tuple[list, dict[str, str], dict[str, set[int]]]] = {}

        def notes(slot: str):
            return shards.setdefault(store.shard_of(slot, self._job.buckets), ([], {}, {}))
        for row in _declarations_of(outcome, self._arrivals, self._job.as_of):
            notes(row.slot)[0].append(row)
        for contribution in contributions:
            months = notes(contribution.slot)[1]
            months[contribution.digest] = min(months.get(contribution.digest, contribution.month), contribution.month)
        for item in (*contributions, *mentions):
            notes(item.slot)[2].setdefault(item.digest, set()).add(bucket_of(item.person_key, self._job.buckets))
        for shard, payload in sorted(shards.items()):
            yield beam.pvalue.TaggedOutput(DECLARATIONS, (shard, spill_objects(
                self._staging, f"register/declarations/shard={shard:02d}", payload)))
        buckets: dict[int, tuple[list, list]] = {}
        for contribution in contributions:
            buckets.setdefault(bucket_of(contribution.person_key, self._job.buckets), ([], []))[0].append(contribution)
        for mention in mentions:
            buckets.setdefault(bucket_of(mention.person_key, self._job.buckets), ([], []))[1].append(mention)
        for bucket, items in sorted(buckets.items()):
            yield bucket, spill_objects(self._staging, f"register/bucket={bucket:02d}", items)


class VersionRegister(beam.PTransform):
    """Merge a run's accepted declarations into the register; write flags and bases of the buckets touched
    (by what arrives, or by a declaration superseded), and of the buckets with pending gate decisions (a hold
    is released even if the person sends nothing new)."""

    def __init__(self, job: RegisterJob, staging: str) -> None:
        super().__init__()
        self._job, self._staging = job, staging

    def expand(self, outcomes):
        job = self._job
        spilled = outcomes | "SpillBuckets" >> beam.ParDo(_SpillBuckets(job, self._staging)).with_outputs(
            DECLARATIONS, main="buckets")
        every_shard = outcomes.pipeline | "EveryShard" >> beam.Create([(shard, None) for shard in range(job.buckets)])
        shards = ((spilled[DECLARATIONS], every_shard)
                  | "WithEveryShard" >> beam.Flatten()
                  | "GroupShard" >> beam.GroupByKey()
                  | "IndexShard" >> beam.ParDo(_IndexShard(job, self._staging)).with_outputs(SUPERSEDED, main="index"))
        index = beam.pvalue.AsList(shards["index"])
        keyed = spilled["buckets"]
        pending = (outcomes.pipeline
                   | "PendingBuckets" >> beam.Create([(bucket, None) for bucket in job.pending_buckets]))
        merged = ((keyed, pending, shards[SUPERSEDED])
                  | "WithPending" >> beam.Flatten()
                  | "GroupBucket" >> beam.GroupByKey()
                  | "MergeBucket" >> beam.ParDo(_MergeBucket(job, self._staging), index))
        return (merged
                | "SumRegister" >> beam.CombineGlobally(_SumRegister())
                | "WriteRegisterStats" >> beam.ParDo(_WriteRegisterStats(job, self._staging), index))
