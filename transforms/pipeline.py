"""The whole job: paths -> parse/validate/normalise -> datasets in a staging folder."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from transforms.parse import CrossChecks, ParseFlows
from transforms.publish import PublishOutcomes
from transforms.versioning import RegisterJob, VersionRegister


EMBEDDED_RUNNER = "FnApiRunner"    # Beam's in-process runner: no Prism download (ENGINEERING.md)
GROUP_BYTES = 8 << 20        # small files travel in groups of about this size (one element, one batch check)
GROUP_FILES = 500


def group_files(paths: list[tuple]) -> list[list[tuple]]:
    """Consecutive input files (``gateway.inputs``, in label order) in groups of at most GROUP_BYTES /
    GROUP_FILES; a large file alone."""
    import os
    groups: list[list[tuple]] = []
    size = 0
    for item in sorted(paths, key=lambda p: (p[1], os.fsencode(p[0]))):
        length = 0 if item[2] else os.path.getsize(item[0])
        if not groups or size + length > GROUP_BYTES or len(groups[-1]) >= GROUP_FILES:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += length
    return groups


def build(pipeline: beam.Pipeline, paths: list[tuple], staging: str, pseudonym_key: bytes,
          register: RegisterJob | None = None) -> None:
    files, declarations = (pipeline
                           | "Inputs" >> beam.Create(group_files(paths))
                           | "SpreadFiles" >> beam.Reshuffle()
                           | "Parse" >> ParseFlows(pseudonym_key))
    cross = declarations | "CrossChecks" >> CrossChecks(register)
    (files, declarations, *cross) | "Publish" >> PublishOutcomes(staging)
    if register is not None:
        declarations | "Register" >> VersionRegister(register, staging)


def pipeline_options(beam_args: tuple[str, ...]) -> PipelineOptions:
    """Beam options from the pass-through arguments, with the embedded runner by default."""
    args = list(beam_args)
    if not any(arg.startswith("--default_sdk_harness_log_level") for arg in args):
        args.append("--default_sdk_harness_log_level=ERROR")    # workers log only their errors
    options = PipelineOptions(args)
    standard = options.view_as(StandardOptions)
    if not any(arg.startswith("--runner") for arg in beam_args):
        standard.runner = EMBEDDED_RUNNER
    direct = options.view_as(DirectOptions)
    if direct.direct_num_workers and direct.direct_num_workers > 1 and \
            not any(arg.startswith("--direct_running_mode") for arg in beam_args):
        direct.direct_running_mode = "multi_processing"
    return options


def run(paths: list[tuple], staging: str, pseudonym_key: bytes, beam_args: tuple[str, ...],
        register: RegisterJob | None = None) -> None:
    with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        build(pipeline, paths, staging, pseudonym_key, register)
