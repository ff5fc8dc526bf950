"""Outcomes -> partitioned datasets and run statistics in a staging folder."""
from __future__ import annotations

import json

import apache_beam as beam

from gateway import log
from gateway.faults import checkpoint
from gateway.publish.datasets import BUCKETS, bucket_of, write_bytes, write_partition
from gateway.records import Outcome
from schemas.records import QUARANTINE, RESOURCE_MONTH

STAT_KEYS = ("lines_read", "lines_used", "lines_ignored", "lines_quarantined", "declarations", "files",
             "resources", "quarantine_records", "warnings")


def outcome_stats(outcome: Outcome) -> dict[str, int]:
    counts = outcome.counts
    return {"lines_read": counts.read, "lines_used": counts.used, "lines_ignored": counts.ignored,
            "lines_quarantined": counts.quarantined, "declarations": outcome.declarations, "files": outcome.files,
            "resources": len(outcome.resources), "quarantine_records": len(outcome.quarantine),
            "warnings": len(outcome.warnings)}


class SumStats(beam.CombineFn):
    def create_accumulator(self):
        return dict.fromkeys(STAT_KEYS, 0)

    def add_input(self, accumulator, stats):
        for key in STAT_KEYS:
            accumulator[key] += stats[key]
        return accumulator

    def merge_accumulators(self, accumulators):
        total = self.create_accumulator()
        for accumulator in accumulators:
            self.add_input(total, accumulator)
        return total

    def extract_output(self, accumulator):
        return accumulator


def resource_partition(record) -> str:
    return f"month={record.month}/part-{bucket_of(record.person_key):02d}"


def quarantine_partition(record) -> str:
    return f"part-{bucket_of(record.file):02d}"


def resource_order(record):
    return (record.month, record.declarant_id, record.person_key, record.nature.value, record.cause.value,
            record.file, record.first_line, record.record_id)


def quarantine_order(record):
    return (record.file, record.first_line, record.last_line, record.rule_id, record.quarantine_id)


class _WritePartition(beam.DoFn):
    def __init__(self, root: str, dataset: str, avro: bool) -> None:
        self._root, self._dataset, self._avro = root, dataset, avro

    def setup(self) -> None:
        log.configure()

    def process(self, element):
        partition, records = element
        order = resource_order if self._dataset == "resources" else quarantine_order
        schema = RESOURCE_MONTH if self._dataset == "resources" else QUARANTINE
        rows = sorted(records, key=order)
        written = write_partition(self._root, self._dataset, partition, schema, rows, avro=self._avro)
        checkpoint("publish")
        yield from written


class _WriteStats(beam.DoFn):
    def __init__(self, root: str) -> None:
        self._root = root

    def process(self, stats):
        write_bytes(f"{self._root}/_stats.json", json.dumps(stats, sort_keys=True).encode())
        yield stats


class PublishOutcomes(beam.PTransform):
    """Write resources (Parquet + Avro), quarantine and warnings (Parquet), and the run statistics."""

    def __init__(self, root: str) -> None:
        super().__init__()
        self._root = root

    def expand(self, outcomes):
        written = []
        for dataset, select, partition, avro in (
            ("resources", lambda o: o.resources, resource_partition, True),
            ("quarantine", lambda o: o.quarantine, quarantine_partition, False),
            ("warnings", lambda o: o.warnings, quarantine_partition, False),
        ):
            written.append(
                outcomes
                | f"Select{dataset.title()}" >> beam.FlatMap(select)
                | f"Key{dataset.title()}" >> beam.Map(lambda record, part=partition: (part(record), record))
                | f"Group{dataset.title()}" >> beam.GroupByKey()
                | f"Write{dataset.title()}" >> beam.ParDo(_WritePartition(self._root, dataset, avro)))
        stats = (outcomes
                 | "Stats" >> beam.Map(outcome_stats)
                 | "SumStats" >> beam.CombineGlobally(SumStats())
                 | "WriteStats" >> beam.ParDo(_WriteStats(self._root)))
        return written, stats


__all__ = ["PublishOutcomes", "BUCKETS"]
