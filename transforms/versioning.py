"""Outcomes -> the register merged bucket by bucket, floating flags and reference-period bases.

People travel in buckets (a stable hash of the pseudonym): each worker reads only its bucket's prior
state from the register, merges the declarations that arrived, and derives the flags and bases of
the bucket's people as of the run's transaction time. Declarations (one small row each) go by shard of
their slot; a bucket reads of them only the slots its people are in (the shards' list is a side input).
The work of each step is ``gateway.register_run``'s; these steps only route.
"""
from __future__ import annotations

import apache_beam as beam

from gateway import log, memory
from gateway.register_run import (BucketContext, RegisterFigures, RegisterJob, ShardIndex, finish, index_shard,
                                  merge_bucket, spill_outcome)
from gateway.records import Outcome

DECLARATIONS = "declarations"
SUPERSEDED = "superseded"

__all__ = ["RegisterJob", "ShardIndex", "VersionRegister"]


class _SpillBuckets(beam.DoFn):
    """An outcome's contributions and mentions by person bucket, and its declarations by shard (tagged)."""

    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def setup(self) -> None:
        self._arrivals = dict(self._job.arrivals)

    def process(self, outcome: Outcome):
        by_shard, by_bucket = spill_outcome(self._job, self._staging, outcome, self._arrivals)
        for item in by_shard:
            yield beam.pvalue.TaggedOutput(DECLARATIONS, item)
        yield from by_bucket


class _IndexShard(beam.DoFn):
    """One shard of declarations -> its index (main) and the buckets its superseded declarations touch."""

    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def process(self, element):
        shard, paths = element
        index, touched = index_shard(self._job, self._staging, shard, paths)
        yield index
        for bucket in touched:
            yield beam.pvalue.TaggedOutput(SUPERSEDED, (bucket, None))


class _MergeBucket(beam.DoFn):
    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def setup(self) -> None:
        log.configure()
        memory.tune_collector()
        self._context = BucketContext.load(self._job)

    def process(self, element, index):
        bucket, paths = element
        yield merge_bucket(self._job, self._staging, self._context, bucket, paths, index)


class _SumRegister(beam.CombineFn):
    def create_accumulator(self):
        return RegisterFigures()

    def add_input(self, total, item):
        return total.add(item)

    def merge_accumulators(self, accumulators):
        total = RegisterFigures()
        for accumulator in accumulators:
            total.add(accumulator)
        return total

    def extract_output(self, total):
        return total


class _WriteRegisterStats(beam.DoFn):
    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def process(self, total, index):
        yield finish(self._job, self._staging, total, index)


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
