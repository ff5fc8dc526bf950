"""Outcomes -> the register merged bucket by bucket, floating flags and reference-period bases.

People travel in buckets (a stable hash of the pseudonym): each worker reads only its bucket's prior
state from the register, merges the declarations that arrived, and derives the flags and bases of
the bucket's people as of the run's transaction time. Declarations (one small row each) go by shard of
their slot; a bucket reads of them only the slots its people are in. Two halves: ``StageRegister`` inside the
parsing pipeline, ``MergeRegister`` in a second pipeline once every shard is indexed. The work of each step is
``gateway.register_run``'s; these steps only route.
"""
from __future__ import annotations

import apache_beam as beam

from gateway import log, memory
from gateway.register_run import (BucketContext, RegisterFigures, RegisterJob, ShardIndex, finish, index_shard,
                                  merge_bucket, record_bucket, record_shard, spill_outcome)
from gateway.records import Outcome
from transforms import steps
from transforms.tagged import split_tagged

DECLARATIONS = "declarations"
BUCKETS = "buckets"

__all__ = ["MergeRegister", "RegisterJob", "ShardIndex", "StageRegister"]


class _SpillBuckets(steps.Step):
    """An outcome's declarations by shard and its contributions and mentions by person bucket, parked in the
    staging folder; yields ``(tag, (key, path))`` pairs."""

    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def setup(self) -> None:
        self._arrivals = self._job.arrival_times()

    def process(self, outcome: Outcome):
        by_shard, by_bucket = spill_outcome(self._job, self._staging, outcome, self._arrivals)
        for item in by_shard:
            yield DECLARATIONS, item
        for item in by_bucket:
            yield BUCKETS, item


def _record_bucket(element: tuple, staging: str) -> str:
    """Where one bucket's contributions and mentions are (the tasks' segments), noted for the bucket step."""
    bucket, segments = element
    return record_bucket(staging, bucket, segments)


class _IndexShard(steps.Step):
    """One shard of declarations -> the register's part for it, and its index parked for the bucket step."""

    def __init__(self, job: RegisterJob, staging: str) -> None:
        self._job, self._staging = job, staging

    def process(self, element):
        shard, paths = element
        index, touched = index_shard(self._job, self._staging, shard, paths)
        yield record_shard(self._staging, index, touched)


class _MergeBucket(steps.Step):
    def __init__(self, job: RegisterJob, staging: str, index: list[ShardIndex]) -> None:
        self._job, self._staging, self._index = job, staging, index

    def setup(self) -> None:
        log.configure()
        memory.tune_collector()
        self._context = BucketContext.load(self._job)

    def process(self, element):
        bucket, paths = element
        yield merge_bucket(self._job, self._staging, self._context, bucket, paths, self._index)


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


class _WriteRegisterStats(steps.Step):
    def __init__(self, job: RegisterJob, staging: str, index: list[ShardIndex]) -> None:
        self._job, self._staging, self._index = job, staging, index

    def process(self, total):
        yield finish(self._job, self._staging, total, self._index)


class StageRegister(beam.PTransform):
    """The first half of the register stage, inside the parsing pipeline: a run's accepted declarations and
    people parked in the staging folder, and each shard of declarations indexed (the run's declarations written
    to the register). Returns the pipeline's leaves here (the bucket files, the shard entries)."""

    def __init__(self, job: RegisterJob, staging: str) -> None:
        super().__init__()
        self._job, self._staging = job, staging

    def expand(self, outcomes):
        job = self._job
        spilled = split_tagged(outcomes | "SpillBuckets" >> beam.ParDo(_SpillBuckets(job, self._staging)),
                               (DECLARATIONS, BUCKETS), "Spilled")
        every_shard = outcomes.pipeline | "EveryShard" >> beam.Create([(shard, None) for shard in range(job.buckets)],
                                                                      reshuffle=False)     # grouped next
        shards = ((spilled[DECLARATIONS], every_shard)
                  | "WithEveryShard" >> beam.Flatten()
                  | "GroupShard" >> beam.GroupByKey()
                  | "IndexShard" >> beam.ParDo(_IndexShard(job, self._staging)))
        buckets = (spilled[BUCKETS]
                   | "GroupBucket" >> beam.GroupByKey()
                   | "RecordBucket" >> steps.Map(_record_bucket, self._staging))
        return buckets, shards


class MergeRegister(beam.PTransform):
    """The second half, a pipeline of its own once every shard is indexed (``register_run.bucket_inputs``): each
    bucket merged, its flags, bases and decisions staged, the run's figures written. The shards' index is a
    constructor argument, not a side input: a runner may recompute a side input's producer for every reader."""

    def __init__(self, job: RegisterJob, staging: str, index: list[ShardIndex]) -> None:
        super().__init__()
        self._job, self._staging, self._index = job, staging, index

    def expand(self, buckets):
        return (buckets
                | "MergeBucket" >> beam.ParDo(_MergeBucket(self._job, self._staging, self._index))
                | "SumRegister" >> steps.Combine(_SumRegister())
                | "WriteRegisterStats" >> beam.ParDo(_WriteRegisterStats(self._job, self._staging, self._index)))
