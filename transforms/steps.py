"""The base of the pipelines' own steps, and ``Map``, ``FlatMap`` and ``Filter`` made on it.

Beam looks for state and timer parameters on every method ``dir()`` lists of a step's function, every time it
builds a step's signature: building the graph, translating it for the runner, and again in every bundle processor
(``apache_beam.transforms.userstate.get_dofn_specs``). A ``beam.DoFn`` lists about thirty methods, most of them
Beam's own (labels, display data, type hints, runner API), each read through ``inspect.signature``: about a
millisecond a step a time, ~690 times over the three pipelines of a one-file run — 0.6 s of its 1.5 s (past
imports). A ``Step`` lists only its lifecycle methods, where a step's state and timer parameters would be: none of
ours has any (a test checks that no step of the pipelines is stateful, read through the full listing). Beam's
``Map``, ``FlatMap`` and ``Filter`` wrap a function in a ``beam.DoFn`` of their own; these do the same in a
``Step``. ``Combine`` and ``CombinePerKey`` do what ``beam.CombineGlobally`` and ``beam.CombinePerKey`` do in the
same steps, a grouping and a fold (Beam's own list about thirty methods each, and a global combine with its default
about six of them). What is left of the cost is Beam's ``Create`` (every runner knows it: the Dask runner replaces
it, and has no translation for the ``Impulse`` it would be made of here).
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


class _Seed:
    """The element a combine with a default adds to its input, so that its one group exists even when the input is
    empty (folded as nothing: an instance of a class of its own, which no input can be)."""


def _fold(fn: beam.CombineFn, values) -> Any:
    accumulator = fn.create_accumulator()
    for value in values:
        if not isinstance(value, _Seed):
            accumulator = fn.add_input(accumulator, value)
    return fn.extract_output(accumulator)


def _keyed_none(element: Any) -> tuple:
    return None, element


def _folded(group: tuple, fn: beam.CombineFn) -> Any:
    return _fold(fn, group[1])


def _folded_per_key(group: tuple, fn: beam.CombineFn) -> tuple:
    return group[0], _fold(fn, group[1])


class Combine(beam.PTransform):
    """Every element folded into one by ``fn`` (a ``beam.CombineFn``): what ``beam.CombineGlobally(fn)`` gives, the
    empty accumulator's output when there is no element; ``default=False``: no output then (``without_defaults``).
    The elements are grouped under one key and folded there, without combining before the grouping (Beam's lifting):
    for the few elements a task gives (counts, figures), not for a volume."""

    def __init__(self, fn: beam.CombineFn, default: bool = True) -> None:
        super().__init__()
        self._fn, self._default = fn, default

    def expand(self, pcoll):
        keyed = pcoll | "KeyNone" >> Map(_keyed_none)
        if self._default:
            seed = pcoll.pipeline | "Seed" >> beam.Create([(None, _Seed())], reshuffle=False)
            keyed = (keyed, seed) | "Seeded" >> beam.Flatten()
        return keyed | "Group" >> beam.GroupByKey() | "Fold" >> Map(_folded, self._fn)


class CombinePerKey(beam.PTransform):
    """``(key, value)`` pairs -> ``(key, fn's fold of its values)``: what ``beam.CombinePerKey(fn)`` gives (see
    ``Combine`` for the lifting it does without)."""

    def __init__(self, fn: beam.CombineFn) -> None:
        super().__init__()
        self._fn = fn

    def expand(self, pcoll):
        return pcoll | "Group" >> beam.GroupByKey() | "Fold" >> Map(_folded_per_key, self._fn)
