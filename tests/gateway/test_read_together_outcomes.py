"""A worker's batch of declarations read together (``gateway.parse.together``: their tokens and tree arrays made at
once, their value pass made once over all of them, ``gateway.validate.columns``) gives exactly the outcome of the
same batch with every declaration read alone (the reference: the read-ahead takes nothing) — records, quarantine,
warnings, line counts, summaries, allowances — on the whole corpus as one batch (CRLF, LF, mixed line ends, Latin-1,
apostrophes, envelopes, parts), on generated flows of small declarations with many defects in LF and CR LF against
the object path with every rule, and on a declaration with random values, mutated lines and random line ends
between two clean ones."""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import gateway.ingest
from fixtures.generator import Rates, generate
from gateway.ingest import DeclarationTask, index_file, process_tasks
from gateway.parse.together import ReadAhead
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.validate.registry import DEFAULT_RULES, RuleRegistry
from tests.corpus import ENDINGS, MUTATIONS, VALUE_CHANGES, between_clean_ones, corpus, mutated, with_values

PSEUDONYMS = Pseudonymiser(DEMO_KEY)


class _Alone:
    """The reference read-ahead: it reads nothing, so that every declaration is read alone."""

    def __init__(self, pieces, **_options) -> None:
        pass

    def take(self, index: int) -> None:
        return None


class _Counted(ReadAhead):
    taken = 0

    def take(self, index: int):
        found = super().take(index)
        _Counted.taken += found is not None
        return found


def _tasks(paths: list[Path]) -> list[DeclarationTask]:
    return [item for path in paths for item in index_file(str(path), DEFAULT_RULES) if isinstance(item, DeclarationTask)]


def _both(paths: list[Path], monkeypatch, reference: RuleRegistry = DEFAULT_RULES):
    """The batch of every declaration of ``paths`` read together (with the registry's certificates), and read
    alone (with ``reference``); how many declarations were read together."""
    tasks = _tasks(paths)
    _Counted.taken = 0
    with monkeypatch.context() as patched:
        patched.setattr(gateway.ingest, "ReadAhead", _Counted)
        together = process_tasks(tasks, DEFAULT_RULES, PSEUDONYMS)
    with monkeypatch.context() as patched:
        patched.setattr(gateway.ingest, "ReadAhead", _Alone)
        alone = process_tasks(tasks, reference, PSEUDONYMS)
    return together, alone, _Counted.taken


# Declarations of at least COLUMNAR_FROM lines take certificates (several read together: certified as a group,
# gateway.validate.certify.GroupColumns) and the columnar path; 0: every declaration does.
EVERY_DECLARATION_COLUMNAR = pytest.mark.parametrize("columnar_from", [gateway.ingest.COLUMNAR_FROM, 0],
                                                     ids=["by-size", "every-declaration-columnar"])


@EVERY_DECLARATION_COLUMNAR
def test_the_corpus_read_together_as_one_batch_gives_what_each_declaration_read_alone_gives(tmp_path, monkeypatch,
                                                                                            columnar_from):
    monkeypatch.setattr(gateway.ingest, "COLUMNAR_FROM", columnar_from)
    together, alone, taken = _both(corpus(tmp_path), monkeypatch, DEFAULT_RULES.uncertified())
    assert taken > 10
    assert together.quarantine and together.resources           # the corpus has both to compare
    assert together == alone


@EVERY_DECLARATION_COLUMNAR
def test_small_declarations_with_defects_read_together_give_what_the_object_path_gives(tmp_path, monkeypatch,
                                                                                      columnar_from):
    """Flows of a few people per employer, a third of them with a defect, in LF and the same in CR LF: read together
    with certificates, against read alone with every rule on every subject."""
    monkeypatch.setattr(gateway.ingest, "COLUMNAR_FROM", columnar_from)
    generate(tmp_path / "lf", people=60, employers=15, bodies=2, months=2, seed=9, rates=Rates(defects=0.3))
    paths = sorted((tmp_path / "lf").rglob("*.dsn"))
    for path in paths:
        crlf = tmp_path / "crlf" / path.name
        crlf.parent.mkdir(exist_ok=True)
        crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    together, alone, taken = _both([*paths, *sorted((tmp_path / "crlf").iterdir())], monkeypatch,
                                   DEFAULT_RULES.uncertified())
    assert taken > 20
    assert together.quarantine and together.warnings
    assert together == alone


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(VALUE_CHANGES, MUTATIONS, ENDINGS)
def test_a_changed_declaration_between_clean_ones_gives_the_outcome_it_gives_read_alone(tmp_path_factory, monkeypatch,
                                                                                     changes, mutations, endings):
    paths = between_clean_ones(tmp_path_factory.mktemp("batch"), mutated(with_values(changes), mutations, endings))
    together, alone, _ = _both(paths, monkeypatch)
    assert together == alone


def test_clean_small_declarations_normalised_as_one_group_give_what_the_object_path_gives(tmp_path, monkeypatch):
    """Three months of small DSN and PASRAU declarations, a few with a defect, late ones of an earlier month among
    them: the clean ones read together are counted and normalised in one pass over their group's arrays
    (``gateway.ingest._people_of_group``), and the batch's outcome is the object path's with every rule."""
    normalised_together = []
    original = gateway.ingest._people_of_group

    def counted(group, together, members, pseudonyms):
        found = original(group, together, members, pseudonyms)
        normalised_together.extend(people for people in found if people is not None)
        return found
    monkeypatch.setattr(gateway.ingest, "_people_of_group", counted)
    generate(tmp_path, people=80, employers=20, bodies=2, months=3, seed=4, rates=Rates(defects=0.05))
    together, alone, taken = _both(sorted(tmp_path.rglob("*.dsn")), monkeypatch, DEFAULT_RULES.uncertified())
    assert len(normalised_together) > taken // 2 > 20
    assert together.resources and together.quarantine
    assert together == alone


def test_declarations_read_together_are_freed_as_soon_as_each_is_released(tmp_path):
    """Nothing a group's certificates or its clean path keep (its view, its people) holds the group's tokens once
    its declarations are done: they go by reference counting, not at the cyclic collector's next pass (a cycle kept
    ~14 groups of tokens alive at once on 10,000 one-employee declarations, 26 -> 46 MB of peak)."""
    import gc
    import weakref

    from gateway.ingest import _process_declaration
    from gateway.validate.certify import GroupColumns
    from tests.corpus import read_all_together
    generate(tmp_path, people=80, employers=20, bodies=1, months=1, seed=3, rates=Rates(defects=0.0))
    gc.disable()
    try:
        members = read_all_together(sorted(tmp_path.rglob("*.dsn")))
        groups = [weakref.ref(group) for group in {id(d.together[0]): d.together[0] for d in members}.values()]
        assert sum(GroupColumns.of(decl) is not None for decl in members) > 10        # certified as groups
        for decl in members:
            _process_declaration(decl, DEFAULT_RULES, PSEUDONYMS)
            decl.release()
        del decl, members
        assert sum(group() is not None for group in groups) == 0
    finally:
        gc.enable()
