"""The whole job: paths -> parse/validate/normalise -> datasets in a staging folder."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.parse import CrossChecks, ParseFlows
from transforms.publish import PublishOutcomes


def build(pipeline: beam.Pipeline, paths: list[tuple[str, str]], staging: str, pseudonym_key: bytes) -> None:
    outcomes = (pipeline
                | "Inputs" >> beam.Create(sorted(paths))
                | "SpreadFiles" >> beam.Reshuffle()
                | "Parse" >> ParseFlows(pseudonym_key))
    cross = outcomes | "CrossChecks" >> CrossChecks()
    (outcomes, cross) | "AllOutcomes" >> beam.Flatten() | "Publish" >> PublishOutcomes(staging)


def run(paths: list[tuple[str, str]], staging: str, pseudonym_key: bytes, options: PipelineOptions) -> None:
    with beam.Pipeline(options=options) as pipeline:
        build(pipeline, paths, staging, pseudonym_key)
