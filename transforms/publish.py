"""Outcomes -> partitioned datasets and run statistics in a staging folder."""
from __future__ import annotations

import json

import apache_beam as beam

from gateway import log, memory
from gateway.faults import checkpoint
from gateway.publish.datasets import BUCKETS, bucket_of, write_table
from gateway.publish.metrics import add_declarant, add_run, declarant_figures, outcome_parts
from gateway.publish.report import (DECLARANTS, FIGURES, FINDINGS, QUARANTINE_ORDER, findings_folder,
                                    report_group)
from gateway.storage import write_bytes
from gateway.publish.spill import read_records, spill_objects, spill_records
from gateway.records import Outcome
from transforms.tagged import split_tagged
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


RESOURCE_ORDER = ("month", "declarant_id", "person_key", "nature", "cause", "file", "first_line", "record_id")
# dataset -> (records of an outcome, partition of a record, schema, row order, Avro copy)
DATASETS = {
    "resources": (lambda o: o.resources, resource_partition, RESOURCE_MONTH, RESOURCE_ORDER, True),
    "quarantine": (lambda o: o.quarantine, quarantine_partition, QUARANTINE, QUARANTINE_ORDER, False),
    "warnings": (lambda o: o.warnings, quarantine_partition, QUARANTINE, QUARANTINE_ORDER, False),
}


class _SpillRecords(beam.DoFn):
    """An outcome's records -> one spill file per (dataset, partition); only the paths travel on. Quarantine
    records and warnings are staged a second time by report group, for the declarants' reports."""

    def __init__(self, root: str, groups: int) -> None:
        self._root, self._groups = root, groups

    def setup(self) -> None:
        log.configure()
        memory.tune_collector()

    def process(self, outcome: Outcome):
        for dataset, (select, partition_of, schema, _, _) in DATASETS.items():
            partitions: dict[str, list] = {}
            for record in select(outcome):
                partitions.setdefault(partition_of(record), []).append(record)
            for partition, records in sorted(partitions.items()):
                yield (dataset, partition), spill_records(self._root, dataset, partition, schema, records)
        for dataset in FINDINGS:
            _, _, schema, _, _ = DATASETS[dataset]
            groups: dict[int, list] = {}
            for record in DATASETS[dataset][0](outcome):
                groups.setdefault(report_group(record.declarant_id, self._groups), []).append(record)
            for group, records in sorted(groups.items()):
                spill_records(self._root, *findings_folder(dataset, group), schema, records)


class _WritePartition(beam.DoFn):
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


class _WriteStats(beam.DoFn):
    def __init__(self, root: str) -> None:
        self._root = root

    def process(self, stats):
        write_bytes(f"{self._root}/_stats.json", json.dumps(stats, sort_keys=True).encode())
        yield stats


class _SumDeclarant(beam.CombineFn):
    """A declarant's figures from every unit of work (people counted once)."""

    def create_accumulator(self):
        from gateway.publish.metrics import _empty_declarant
        return _empty_declarant(), set()

    def add_input(self, total, part):
        return add_declarant(total, part)

    def merge_accumulators(self, accumulators):
        total = self.create_accumulator()
        for accumulator in accumulators:
            add_declarant(total, accumulator)
        return total

    def extract_output(self, total):
        return declarant_figures(total)


class _SumRun(beam.CombineFn):
    def create_accumulator(self):
        return {}

    def add_input(self, total, part):
        return add_run(total, part)

    def merge_accumulators(self, accumulators):
        total = {}
        for accumulator in accumulators:
            add_run(total, accumulator)
        return total

    def extract_output(self, total):
        return total


def _outcome_parts(outcome: Outcome):
    """``(tag, element)`` pairs: each declarant's part, and the run's part, of an outcome's figures."""
    declarants, run = outcome_parts(outcome)
    yield from ((DECLARANTS, part) for part in declarants)
    yield FIGURES, run


class PublishOutcomes(beam.PTransform):
    """Write resources (Parquet + Avro), quarantine and warnings (Parquet), the run statistics, and the run's
    figures (per declarant, by report group; per rule and nature) for its metrics and reports."""

    def __init__(self, root: str, groups: int = BUCKETS) -> None:
        super().__init__()
        self._root, self._groups = root, groups

    def expand(self, sources):
        """``sources``: one or several PCollections of outcomes. Each is spilled where it is produced (no
        Flatten of whole outcomes, which the embedded runner would hold in memory); only paths and counts
        are brought together."""
        sources = sources if isinstance(sources, tuple) else (sources,)
        spilled, counted, parts = [], [], []
        for number, outcomes in enumerate(sources):
            spilled.append(outcomes | f"Spill{number}" >> beam.ParDo(_SpillRecords(self._root, self._groups)))
            counted.append(outcomes | f"Stats{number}" >> beam.Map(outcome_stats))
            parts.append(outcomes | f"Figures{number}" >> beam.FlatMap(_outcome_parts))
        written = (spilled
                   | "AllParts" >> beam.Flatten()
                   | "GroupPartition" >> beam.GroupByKey()
                   | "WritePartition" >> beam.ParDo(_WritePartition(self._root)))
        stats = (counted
                 | "AllStats" >> beam.Flatten()
                 | "SumStats" >> beam.CombineGlobally(SumStats())
                 | "WriteStats" >> beam.ParDo(_WriteStats(self._root)))
        figures = split_tagged(parts | "AllFigures" >> beam.Flatten(), (DECLARANTS, FIGURES), "Figures")
        root, groups = self._root, self._groups
        declarants = (figures[DECLARANTS]
                      | "SumDeclarant" >> beam.CombinePerKey(_SumDeclarant())
                      | "ReportGroup" >> beam.Map(lambda item: (report_group(item[0], groups), item))
                      | "GroupDeclarants" >> beam.GroupByKey()
                      | "WriteDeclarants" >> beam.Map(
                          lambda group: spill_objects(root, f"{DECLARANTS}/group={group[0]:02d}", sorted(group[1]))))
        run = (figures[FIGURES]
               | "SumRun" >> beam.CombineGlobally(_SumRun())
               | "WriteFigures" >> beam.Map(lambda total: spill_objects(root, FIGURES, total)))
        return written, stats, declarants, run


__all__ = ["PublishOutcomes", "BUCKETS"]
