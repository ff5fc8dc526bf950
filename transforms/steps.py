"""The base of the pipelines' own steps, and ``Map``, ``FlatMap`` and ``Filter`` made on it.

Beam looks for state and timer parameters on every method ``dir()`` lists of a step's function, every time it
builds a step's signature: building the graph, translating it for the runner, and again in every bundle processor
(``apache_beam.transforms.userstate.get_dofn_specs``). A ``beam.DoFn`` lists about thirty methods, most of them
Beam's own (labels, display data, type hints, runner API), each read through ``inspect.signature``: about a
millisecond a step a time, ~690 times over the three pipelines of a one-file run — 0.6 s of its 1.5 s (past
imports). A ``Step`` lists only its lifecycle methods, where a step's state and timer parameters would be: none of
ours has any (a test checks that no step of the pipelines is stateful, read through the full listing). Beam's
``Map``, ``FlatMap`` and ``Filter`` wrap a function in a ``beam.DoFn`` of their own; these do the same in a
``Step``. What is left of the cost is Beam's own composites (``Create``, ``CombineGlobally``).
"""
from __future__ import annotations

from typing import Any, Callable

import apache_beam as beam

LIFECYCLE = ("process", "process_batch", "setup", "start_bundle", "finish_bundle", "teardown")


class Step(beam.DoFn):
    """A ``beam.DoFn`` whose ``dir()`` lists its lifecycle methods only (why: the module's docstring)."""

    def __dir__(self) -> list[str]:
        return list(LIFECYCLE)


class _Apply(Step):
    """``fn(element, *args)``: its result (map), each item of it (flat), or the element when it is true (filter)."""

    def __init__(self, fn: Callable[..., Any], args: tuple, mode: str) -> None:
        self._fn, self._args, self._mode = fn, args, mode

    def process(self, element):
        result = self._fn(element, *self._args)
        if self._mode == "map":
            yield result
        elif self._mode == "flat":
            yield from result
        elif result:
            yield element


def Map(fn: Callable[..., Any], *args: Any) -> beam.ParDo:  # noqa: N802 - named as the Beam transform it replaces
    return beam.ParDo(_Apply(fn, args, "map"))


def FlatMap(fn: Callable[..., Any], *args: Any) -> beam.ParDo:  # noqa: N802
    return beam.ParDo(_Apply(fn, args, "flat"))


def Filter(fn: Callable[..., Any], *args: Any) -> beam.ParDo:  # noqa: N802
    return beam.ParDo(_Apply(fn, args, "filter"))
