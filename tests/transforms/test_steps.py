"""The pipelines' steps list only their lifecycle methods to Beam (transforms.steps): none of them has state or
timers, read through Beam's full listing; and the steps' Map, FlatMap and Filter give what Beam's give."""
import importlib
import pkgutil

import apache_beam as beam
from apache_beam.testing import test_pipeline as beam_testing   # not a name pytest collects
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import userstate

import transforms
from transforms import steps


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_step_of_the_pipelines_has_state_or_timers_read_through_the_full_listing(monkeypatch):
    for module in pkgutil.iter_modules(transforms.__path__):
        importlib.import_module(f"transforms.{module.name}")
    found = sorted({cls.__name__ for cls in _subclasses(steps.Step)})
    assert {"_ProcessTask", "_MergeBucket", "_SpillRecords", "_WritePartition", "_Apply"} <= set(found)
    monkeypatch.setattr(steps.Step, "__dir__", object.__dir__)     # every method, as a beam.DoFn lists them
    for cls in _subclasses(steps.Step):
        instance = cls.__new__(cls)
        assert len(dir(instance)) > 20
        assert userstate.get_dofn_specs(instance) == (set(), set()), cls.__name__
        assert not userstate.is_stateful_dofn(instance), cls.__name__


def test_map_flat_map_and_filter_give_what_beams_own_give():
    words = ["a", "bb", "", "ccc", "bb"]
    with beam_testing.TestPipeline() as pipeline:
        source = pipeline | beam.Create(words)
        for name, ours, beams in (
                ("Map", steps.Map(lambda w, n: (w, len(w) * n), 2), beam.Map(lambda w, n: (w, len(w) * n), 2)),
                ("FlatMap", steps.FlatMap(lambda w: list(w)), beam.FlatMap(lambda w: list(w))),
                ("Filter", steps.Filter(lambda w, m: len(w) >= m, 2), beam.Filter(lambda w, m: len(w) >= m, 2))):
            expected = {"Map": [(w, len(w) * 2) for w in words], "FlatMap": [c for w in words for c in w],
                        "Filter": ["bb", "ccc", "bb"]}[name]
            assert_that(source | f"Ours{name}" >> ours, equal_to(expected), label=f"CheckOurs{name}")
            assert_that(source | f"Beams{name}" >> beams, equal_to(expected), label=f"CheckBeams{name}")
