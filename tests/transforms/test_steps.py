"""The pipelines' steps list only their lifecycle methods to Beam (transforms.steps): none of them has state or
timers, read through Beam's full listing; and the steps' Map, FlatMap, Filter, Combine and CombinePerKey give what
Beam's give."""
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


class _Spread(beam.CombineFn):
    """Sum, count and the distinct values seen: an accumulator that is not the output, as the run's sums are."""

    def create_accumulator(self):
        return [0, 0, set()]

    def add_input(self, accumulator, value):
        accumulator[0] += value
        accumulator[1] += 1
        accumulator[2].add(value)
        return accumulator

    def merge_accumulators(self, accumulators):
        total = self.create_accumulator()
        for accumulator in accumulators:
            total[0] += accumulator[0]
            total[1] += accumulator[1]
            total[2] |= accumulator[2]
        return total

    def extract_output(self, accumulator):
        return accumulator[0], accumulator[1], sorted(accumulator[2])


def test_combine_and_combine_per_key_give_what_beams_own_give_with_and_without_elements():
    numbers = [3, 1, 4, 1, 5, 9, 2, 6]
    pairs = [("a", 3), ("b", 1), ("a", 4), ("c", 1), ("b", 5)]
    with beam_testing.TestPipeline() as pipeline:
        for name, values in (("Some", numbers), ("None", [])):
            source = pipeline | f"{name}Numbers" >> beam.Create(values)
            expected = [(sum(values), len(values), sorted(set(values)))]
            for label, ours, beams, wanted in (
                    ("Default", steps.Combine(_Spread()), beam.CombineGlobally(_Spread()), expected),
                    ("NoDefault", steps.Combine(_Spread(), default=False),
                     beam.CombineGlobally(_Spread()).without_defaults(), expected if values else [])):
                assert_that(source | f"Ours{name}{label}" >> ours, equal_to(wanted), label=f"CheckOurs{name}{label}")
                assert_that(source | f"Beams{name}{label}" >> beams, equal_to(wanted), label=f"CheckBeams{name}{label}")
        keyed = pipeline | "Pairs" >> beam.Create(pairs)
        per_key = [("a", (7, 2, [3, 4])), ("b", (6, 2, [1, 5])), ("c", (1, 1, [1]))]
        assert_that(keyed | "OursPerKey" >> steps.CombinePerKey(_Spread()), equal_to(per_key), label="CheckOursPerKey")
        assert_that(keyed | "BeamsPerKey" >> beam.CombinePerKey(_Spread()), equal_to(per_key), label="CheckBeamsPerKey")
        counted = (keyed | "Count" >> steps.Combine(beam.combiners.CountCombineFn(), default=False))
        assert_that(counted, equal_to([len(pairs)]), label="CheckCount")
