"""Several outputs of one step, the portable way: the step yields ``(tag, element)`` pairs and each consumer
takes its tag with a filter. Beam's tagged outputs (``with_outputs``) are not honoured by every runner: the
Dask runner hands a consumer of the main output the tagged elements too (ENGINEERING.md)."""
from __future__ import annotations

import apache_beam as beam


def split_tagged(pairs, tags: tuple[str, ...], label: str) -> dict[str, beam.PCollection]:
    """``(tag, element)`` pairs -> one PCollection of elements per tag."""
    return {tag: (pairs
                  | f"{label}{tag.title()}" >> beam.Filter(lambda pair, wanted=tag: pair[0] == wanted)
                  | f"{label}{tag.title()}Values" >> beam.Map(lambda pair: pair[1]))
            for tag in tags}


def finish(pcollections, label: str = "Done"):
    """One final step over every leaf of a pipeline: runners that compute only the branch a pipeline ends with
    (the Dask runner) still compute them all. Yields one count."""
    return (tuple(pcollections)
            | f"{label}Leaves" >> beam.Flatten()
            | f"{label}Count" >> beam.combiners.Count.Globally())
