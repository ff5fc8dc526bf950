"""The whole job: paths -> parse/validate/normalise -> datasets in a staging folder, then the register.

Written for every runner, not just the embedded one: several outputs of a step travel as tagged pairs
(``transforms.tagged``), each pipeline ends in one final step, and nothing is a side input (the register's
buckets run in a second pipeline that reads the shards' index from the staging folder)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from transforms.parse import CrossChecks, ParseFlows
from transforms.publish import PublishOutcomes
from gateway.inputs import GROUP_FILES, group_files, people_estimate, settle
from gateway.publish.datasets import BUCKETS
from gateway.publish.spill import SPILL, read_objects, spill_objects
from gateway.storage import list_files, remove_tree
from gateway.register_run import bucket_inputs
from transforms.tagged import Spread, finish
from transforms.versioning import MergeRegister, RegisterJob, StageRegister
from transforms import steps


EMBEDDED_RUNNER = "FnApiRunner"    # Beam's in-process runner: no Prism download (ENGINEERING.md)
INVENTORY = "inventory"


def _input_groups(pipeline: beam.Pipeline, paths: list[tuple], sizes: dict, staging: str):
    """The input files in groups, spread over the workers: the list is staged and read by the first step, so
    the job graph does not hold it."""
    return (pipeline
            | "Inputs" >> beam.Create([spill_objects(staging, "inputs", group_files(paths, sizes))])
            | "InputGroups" >> steps.FlatMap(read_objects)
            | "SpreadFiles" >> Spread())


def _chunks(listed: list, size: int = GROUP_FILES):
    for start in range(0, len(listed), size):
        yield "files", listed[start:start + size]


def _expanded(staged: str):
    """The paths given (staged) -> chunks of their top-level files, and each subfolder to walk."""
    from gateway.inputs import expand_root
    for index, raw in read_objects(staged):
        files, units = expand_root(index, raw)
        yield from _chunks(files)
        yield from (("unit", unit) for unit in units)


def _walked(element):
    from gateway.inputs import walk_unit
    kind, value = element
    yield from _chunks(walk_unit(value)) if kind == "unit" else [element]


def _inventoried(element, staging: str, as_of: str | None, arrival: str) -> str:
    """A chunk of listed files -> their entries and the sketch of their NIRs (``gateway.inputs``), staged."""
    from gateway.inputs import inventory_entry, people_sketch
    people = people_sketch()
    entries = [inventory_entry(listed, as_of, arrival, people) for listed in element[1]]
    return spill_objects(staging, INVENTORY, [(entries, people.serialize_compact())])


def build_inventory(pipeline: beam.Pipeline, inputs: tuple[str, ...], staging: str, as_of: str | None,
                    arrival: str) -> None:
    """The pipeline that lists the inputs and reads every input's bytes once for its SHA-256 (the run's
    identity), on the workers: each path given is split into its subfolders, each walked by a worker; the
    driver only collects the small results."""
    (pipeline
     | "Roots" >> beam.Create([spill_objects(staging, "inputs", list(enumerate(inputs)))])
     | "ExpandRoots" >> steps.FlatMap(_expanded)
     | "SpreadFolders" >> Spread()
     | "Walk" >> steps.FlatMap(_walked)
     | "SpreadFiles" >> Spread()
     | "Checksums" >> steps.Map(_inventoried, staging, as_of, arrival))


class Inventory(NamedTuple):
    files: list[tuple]           # the run's input files in label order (``gateway.inputs``)
    inputs: list[dict]           # what a run records of each (label, SHA-256, size)
    arrivals: dict[str, str]     # label -> arrival time
    people: int                  # distinct NIRs of the files, estimated (``gateway.inputs.people_estimate``)


def inventory(inputs: tuple[str, ...], staging: str, beam_args: tuple[str, ...], as_of: str | None = None,
              arrival: str = "mtime") -> Inventory:
    """The run's inputs, listed and read by the workers (``Inventory``)."""
    with _pipeline(beam_args) as pipeline:
        build_inventory(pipeline, inputs, staging, as_of, arrival)
    chunks = [chunk for spilled in list_files(f"{staging}/{SPILL}/{INVENTORY}") for chunk in read_objects(spilled)]
    remove_tree(f"{staging}/{SPILL}/{INVENTORY}")
    return Inventory(*settle([entry for entries, _ in chunks for entry in entries], inputs),
                     people_estimate(people for _, people in chunks))


def build(pipeline: beam.Pipeline, paths: list[tuple], staging: str, pseudonym_key: bytes,
          register: RegisterJob | None = None, sizes: dict | None = None, reference: bool = False,
          parts: int = BUCKETS) -> None:
    """The first pipeline: parse, check, publish, and the first half of the register stage; one final step.
    ``reference``: declarations through the object path (``ParseFlows``); ``parts``: the files of each month of
    resources, and of the quarantine and the warnings (``gateway.publish.datasets.parts_for``)."""
    files, declarations = (_input_groups(pipeline, paths, sizes or {}, staging)
                           | "Parse" >> ParseFlows(pseudonym_key, staging, reference))
    cross = declarations | "CrossChecks" >> CrossChecks(register)
    groups = register.buckets if register is not None else BUCKETS
    leaves = list((files, declarations, *cross) | "Publish" >> PublishOutcomes(staging, groups, parts))
    if register is not None:
        leaves.extend(declarations | "Register" >> StageRegister(register, staging))
    finish(leaves)


@dataclass(frozen=True)
class ReportJob:
    """What the declarants' reports need: the run, how many groups, each declarant's history anomalies."""

    run_id: str
    groups: tuple[int, ...]           # the report groups that have declarants (gateway.publish.report)
    anomalies: str | None = None      # staged (gateway.publish.spill): declarant -> its history anomalies


def _group_reports(group: int, staging: str, job: ReportJob) -> int:
    from gateway.publish.report import write_group_reports
    return write_group_reports(staging, group, job.run_id, read_objects(job.anomalies) if job.anomalies else {})


def build_merge(pipeline: beam.Pipeline, staging: str, register: RegisterJob | None,
                reports: ReportJob | None = None) -> None:
    """The second pipeline: every bucket merged, once every shard of declarations is indexed; and every
    declarant's report written, once the run's figures are summed; one final step."""
    leaves = []
    if register is not None:
        index, buckets = bucket_inputs(register, staging)
        leaves.append(pipeline        # staged, as the input groups are: each bucket lists a segment per task
                      | "Buckets" >> beam.Create([spill_objects(staging, "bucket-list", buckets)])
                      | "BucketList" >> steps.FlatMap(read_objects)
                      | "SpreadBuckets" >> Spread()
                      | "Merge" >> MergeRegister(register, staging, index))
    if reports is not None and reports.groups:
        leaves.append(pipeline
                      | "ReportGroups" >> beam.Create(list(reports.groups), reshuffle=False)
                      | "SpreadReports" >> Spread()
                      | "DeclarantReports" >> steps.Map(_group_reports, staging, reports))
    if leaves:
        finish(leaves)


# What argparse asks of the environment for every argument Beam adds: the terminal's size (a failing ioctl when
# output is not a terminal, unless both are given) and the language of its messages (gettext, which looks for
# translation files on disk at every call when there are none, unless the language is C).
_ARGPARSE_AT_REST = {"COLUMNS": "80", "LINES": "24", "LANGUAGE": "C"}


@contextmanager
def _pipeline(beam_args: tuple[str, ...]) -> Iterator[beam.Pipeline]:
    """A pipeline on the options ``beam_args`` give, run when the block ends. Beam parses its options again for
    every view of them, twice for every step it applies (hundreds of arguments each time): ~35 ms a run went to
    argparse asking the environment (``_ARGPARSE_AT_REST``). For the pipeline's time the terminal's size is given
    where the environment does not say it, and the language is C; the environment is as it was afterwards."""
    saved = {name: os.environ.get(name) for name in _ARGPARSE_AT_REST}
    os.environ.update({name: value for name, value in _ARGPARSE_AT_REST.items()
                       if name == "LANGUAGE" or saved[name] is None})
    try:
        with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
            yield pipeline
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pipeline_options(beam_args: tuple[str, ...]) -> PipelineOptions:
    """Beam options from the pass-through arguments, with the embedded runner by default."""
    args = list(beam_args)
    if not any(arg.startswith("--default_sdk_harness_log_level") for arg in args):
        args.append("--default_sdk_harness_log_level=ERROR")    # workers log only their errors
    if not any(arg.startswith(("--pipeline_type_check", "--no_pipeline_type_check")) for arg in args):
        # Beam's construction-time type inference: the steps declare no type hints (every element is pickled as
        # it is), so it checks nothing, and it is a third of building the run's three graphs (~0.4 CPU-s a run)
        args.append("--no_pipeline_type_check")
    options = PipelineOptions(args)
    standard = options.view_as(StandardOptions)
    if not any(arg.startswith("--runner") for arg in beam_args):
        standard.runner = EMBEDDED_RUNNER
    direct = options.view_as(DirectOptions)
    if direct.direct_num_workers and direct.direct_num_workers > 1 and \
            not any(arg.startswith("--direct_running_mode") for arg in beam_args):
        direct.direct_running_mode = "multi_processing"
    return options


def run_parse(paths: list[tuple], staging: str, pseudonym_key: bytes, beam_args: tuple[str, ...],
              register: RegisterJob | None = None, sizes: dict | None = None,
              reference: bool = False, parts: int = BUCKETS) -> RegisterJob | None:
    """The run's first pipeline, on the runner the arguments name (the embedded one by default); returns the
    register job as the second pipeline takes it."""
    register = register.staged(staging) if register is not None else None
    with _pipeline(beam_args) as pipeline:
        build(pipeline, paths, staging, pseudonym_key, register, sizes, reference, parts)
    return register


def run_merge(staging: str, beam_args: tuple[str, ...], register: RegisterJob | None,
              reports: ReportJob | None = None) -> None:
    """The run's second pipeline (register buckets, declarants' reports)."""
    if register is not None or reports is not None:
        with _pipeline(beam_args) as pipeline:
            build_merge(pipeline, staging, register, reports)


def run(paths: list[tuple], staging: str, pseudonym_key: bytes, beam_args: tuple[str, ...],
        register: RegisterJob | None = None, sizes: dict | None = None, reports: ReportJob | None = None) -> None:
    """The run's two pipelines, one after the other."""
    run_merge(staging, beam_args, run_parse(paths, staging, pseudonym_key, beam_args, register, sizes), reports)
