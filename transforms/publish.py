"""Outcomes -> partitioned datasets and run statistics in a staging folder."""
from __future__ import annotations

import json

import apache_beam as beam
import pyarrow as pa

from gateway import log, memory
from gateway.faults import checkpoint
from gateway.publish.datasets import BUCKETS, bucket_of, write_table
from gateway.publish.metrics import add_declarant, add_run, declarant_figures, declarant_parts, run_parts
from gateway.publish.report import (DECLARANTS, FIGURES, FINDINGS, QUARANTINE_ORDER, findings_folder,
                                    report_group)
from gateway.storage import write_bytes
from gateway.publish.spill import read_records, spill_objects, spill_partitions
from gateway.records import Outcome
from schemas.records import QUARANTINE, RESOURCE_MONTH
from transforms import steps

STAT_KEYS = ("lines_read", "lines_used", "lines_ignored", "lines_quarantined", "declarations", "files",
             "resources", "quarantine_records", "warnings")


def outcome_stats(outcome: Outcome) -> dict[str, int]:
    counts = outcome.counts
    return {"lines_read": counts.read, "lines_used": counts.used, "lines_ignored": counts.ignored,
            "lines_quarantined": counts.quarantined, "declarations": outcome.declarations, "files": outcome.files,
            "resources": len(outcome.resources), "quarantine_records": len(outcome.quarantine),
            "warnings": len(outcome.warnings)}


class SumStats(beam.CombineFn):
    """The run's counts (``STAT_KEYS``) and its figures per rule and nature (``FIGURES``), from each outcome's."""

    def create_accumulator(self):
        return {**dict.fromkeys(STAT_KEYS, 0), FIGURES: {}}

    def add_input(self, accumulator, stats):
        for key in STAT_KEYS:
            accumulator[key] += stats[key]
        add_run(accumulator[FIGURES], stats.get(FIGURES, {}))
        return accumulator

    def merge_accumulators(self, accumulators):
        total = self.create_accumulator()
        for accumulator in accumulators:
            self.add_input(total, accumulator)
        return total

    def extract_output(self, accumulator):
        return accumulator


def _stats_and_figures(outcome: Outcome) -> dict:
    """An outcome's counts and its figures per rule and nature."""
    return {**outcome_stats(outcome), FIGURES: run_parts(outcome)}


def _buckets(table: pa.Table, column: str, parts: int) -> list[int]:
    """The bucket among ``parts`` of each row's value of ``column`` (each distinct value hashed once)."""
    values = table.column(column).to_pylist()
    buckets = {value: bucket_of(value, parts) for value in set(values)}
    return [buckets[value] for value in values]


def resource_partitions(table: pa.Table, parts: int = BUCKETS) -> list[str]:
    """Each resource record's partition (its month, its person's bucket among ``parts``: ``parts_for``), read from
    the records' columns."""
    return [f"month={month}/part-{bucket:02d}"
            for month, bucket in zip(table.column("month").to_pylist(), _buckets(table, "person_key", parts))]


def quarantine_partitions(table: pa.Table, parts: int = BUCKETS) -> list[str]:
    return [f"part-{bucket:02d}" for bucket in _buckets(table, "file", parts)]


RESOURCE_ORDER = ("month", "declarant_id", "person_key", "nature", "cause", "file", "first_line", "record_id")
# dataset -> (records of an outcome, the partition of each of its records (from their table), schema, row order,
# Avro copy)
DATASETS = {
    "resources": (lambda o: o.resources, resource_partitions, RESOURCE_MONTH, RESOURCE_ORDER, True),
    "quarantine": (lambda o: o.quarantine, quarantine_partitions, QUARANTINE, QUARANTINE_ORDER, False),
    "warnings": (lambda o: o.warnings, quarantine_partitions, QUARANTINE, QUARANTINE_ORDER, False),
}


class _SpillRecords(steps.Step):
    """An outcome's records -> one spill file per (dataset, partition); only the paths travel on. Quarantine
    records and warnings are staged a second time by report group, for the declarants' reports."""

    def __init__(self, root: str, groups: int, parts: int) -> None:
        self._root, self._groups, self._parts = root, groups, parts

    def setup(self) -> None:
        log.configure()
        memory.tune_collector()

    def process(self, outcome: Outcome):
        for dataset, (select, partitions_of, schema, _, _) in DATASETS.items():
            records = select(outcome)
            if not records:
                continue
            for partition, path in spill_partitions(self._root, dataset, schema, records,
                                                    partitions_of(schema.table(records), self._parts),
                                                    together=True):
                yield (dataset, partition), path
        for dataset in FINDINGS:
            select, _, schema, _, _ = DATASETS[dataset]
            records = select(outcome)
            folders = [findings_folder(dataset, report_group(record.declarant_id, self._groups)) for record in records]
            if folders:                    # one spill dataset for every group (findings_folder)
                spill_partitions(self._root, folders[0][0], schema, records, [folder[1] for folder in folders])


class _WritePartition(steps.Step):
    def __init__(self, root: str) -> None:
        self._root = root

    def setup(self) -> None:
        log.configure()
        memory.tune_collector()

    def process(self, element):
        (dataset, partition), paths = element
        _, _, schema, order, avro = DATASETS[dataset]
        table = read_records(list(paths), schema, order)
        written = write_table(self._root, dataset, partition, schema, table, avro=avro)
        checkpoint("publish")
        yield from written


class _WriteStats(steps.Step):
    def __init__(self, root: str) -> None:
        self._root = root

    def process(self, total):
        stats = {key: total[key] for key in STAT_KEYS}
        write_bytes(f"{self._root}/_stats.json", json.dumps(stats, sort_keys=True).encode())
        spill_objects(self._root, FIGURES, total[FIGURES])
        yield stats


class _SumGroup(beam.CombineFn):
    """The figures of a report group's declarants from every unit of work: declarant -> (counts, people)."""

    def create_accumulator(self):
        return {}

    def add_input(self, total, parts):
        from gateway.publish.metrics import _empty_declarant
        for declarant, part in parts:
            add_declarant(total.setdefault(declarant, (_empty_declarant(), set())), part)
        return total

    def merge_accumulators(self, accumulators):
        total = {}
        for accumulator in accumulators:
            self.add_input(total, accumulator.items())
        return total

    def extract_output(self, total):
        return sorted((declarant, declarant_figures(parts)) for declarant, parts in total.items())


def _group_parts(outcome: Outcome, groups: int):
    """An outcome's per-declarant figures, keyed by the report group each declarant's report is written in."""
    by_group: dict[int, list] = {}
    for declarant, part in declarant_parts(outcome):
        by_group.setdefault(report_group(declarant, groups), []).append((declarant, part))
    yield from by_group.items()


class PublishOutcomes(beam.PTransform):
    """Write resources (Parquet + Avro), quarantine and warnings (Parquet), the run statistics, and the run's
    figures (per declarant, by report group; per rule and nature) for its metrics and reports. ``parts``: the files
    of each month of resources, and of the quarantine and the warnings (``gateway.publish.datasets.parts_for``)."""

    def __init__(self, root: str, groups: int = BUCKETS, parts: int = BUCKETS) -> None:
        super().__init__()
        self._root, self._groups, self._parts = root, groups, parts

    def expand(self, sources):
        """``sources``: one or several PCollections of outcomes. Each is spilled where it is produced (no
        Flatten of whole outcomes, which the embedded runner would hold in memory); only paths and counts
        are brought together."""
        sources = sources if isinstance(sources, tuple) else (sources,)
        spilled, counted, parts = [], [], []
        for number, outcomes in enumerate(sources):
            spilled.append(outcomes | f"Spill{number}" >> beam.ParDo(_SpillRecords(self._root, self._groups, self._parts)))
            counted.append(outcomes | f"Stats{number}" >> steps.Map(_stats_and_figures))
            parts.append(outcomes | f"Figures{number}" >> steps.FlatMap(_group_parts, self._groups))
        written = (spilled
                   | "AllParts" >> beam.Flatten()
                   | "GroupPartition" >> beam.GroupByKey()
                   | "WritePartition" >> beam.ParDo(_WritePartition(self._root)))
        stats = (counted
                 | "AllStats" >> beam.Flatten()
                 | "SumStats" >> steps.Combine(SumStats())
                 | "WriteStats" >> beam.ParDo(_WriteStats(self._root)))
        root = self._root
        declarants = (parts
                      | "AllFigures" >> beam.Flatten()
                      | "SumGroup" >> steps.CombinePerKey(_SumGroup())
                      | "WriteDeclarants" >> steps.Map(
                          lambda group: spill_objects(root, f"{DECLARANTS}/group={group[0]:02d}", group[1])))
        return written, stats, declarants


__all__ = ["PublishOutcomes", "BUCKETS"]
