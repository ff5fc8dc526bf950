"""Portable pipeline shapes. Several outputs of one step: the step yields ``(tag, element)`` pairs and each
consumer takes its tag in one step (Beam's tagged outputs, ``with_outputs``, are not honoured by every runner:
the Dask runner hands a consumer of the main output the tagged elements too, ENGINEERING.md). One final step
over every leaf. Elements spread over the workers."""
from __future__ import annotations

import random

import apache_beam as beam
from transforms import steps


def split_tagged(pairs, tags: tuple[str, ...], label: str) -> dict[str, beam.PCollection]:
    """``(tag, element)`` pairs -> one PCollection of elements per tag."""
    return {tag: pairs | f"{label}{tag.title()}" >> steps.FlatMap(_tagged, tag) for tag in tags}


def _tagged(pair: tuple, wanted: str) -> tuple:
    return (pair[1],) if pair[0] == wanted else ()


def finish(pcollections, label: str = "Done"):
    """One final step over every leaf of a pipeline: runners that compute only the branch a pipeline ends with
    (the Dask runner) still compute them all. Yields one count (none when there is no leaf element: nothing
    reads it, and a count with a default costs Beam a step and a side input more per pipeline)."""
    return (tuple(pcollections)
            | f"{label}Leaves" >> beam.Flatten()
            | f"{label}Count" >> steps.Combine(beam.combiners.CountCombineFn(), default=False))


class Spread(beam.PTransform):
    """The elements redistributed over the workers, and a break between the steps before and after (they do not
    run fused in one worker): each element keyed at random, grouped by key, and let go. What ``beam.Reshuffle``
    does for a batch pipeline, without its windowing steps, whose construction alone cost ~0.2 CPU-s a run
    (six of them over the run's graphs); and the Dask runner does redistribute a grouping, where it does not a
    Reshuffle (ENGINEERING.md)."""

    def expand(self, pcoll):
        return (pcoll
                | "Key" >> steps.Map(_random_key)
                | "Group" >> beam.GroupByKey()
                | "Values" >> steps.FlatMap(_values))


def _random_key(element):
    return random.getrandbits(30), element


def _values(group):
    return group[1]
