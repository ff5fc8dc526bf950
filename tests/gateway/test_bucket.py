"""A bucket's derivation: the gate publishes, over columns, the bases of the people it has nothing to compare for,
and gives what ``gate_person`` gives person by person (the reference)."""
from dataclasses import replace

import pytest

from fixtures.generator import Rates, generate
from gateway.bucket import GateInputs, derive, gate_state
from gateway.gate.decisions import gate_person
from gateway.gate.estimate import estimator_named
from gateway.options import Settings
from gateway.policy import load_policy
from gateway.register_run import registry_rules
from gateway.run import run
from gateway.versioning import store
from gateway.versioning.horizon import open_from, within
from gateway.versioning.register import BucketState
from gateway.versioning.view import people_as_of
from schemas.records import BaseRows
from tests.conftest import TEST_KEY


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    root = tmp_path_factory.mktemp("bucket-gate")
    generate(root / "flows", people=60, employers=4, bodies=2, months=7, seed=59,
             rates=Rates(replacement=0.3, late=0.2, regularisation=0.1, net_social_correction=0.1))
    result = run(Settings((str(root / "flows"),), str(root / "out"), TEST_KEY, buckets=2, arrival="folder"))
    path = root / "out" / "history" / "register"
    return path, [commit.run_id for commit in store.commits(path)], result.manifest["as_of"]


def _person_by_person(state: BucketState, derived, declarations, as_of: str, policy, gate: GateInputs):
    """(published, decisions, notices) as the gate took them before a bucket's bases were columns: ``gate_person``
    for every person in key order, with the flags and bases ``derive`` made (compared elsewhere with their own
    references: tests/gateway/versioning/test_bucket_view.py and test_bases.py)."""
    state = within(state, open_from(policy, as_of))
    frozen, last, answered, seen = gate_state(state)
    flags, bases = {}, {}
    for flag in derived.flags:
        flags.setdefault(flag.person_key, []).append(flag)
    for base in derived.bases:
        bases.setdefault(base.person_key, []).append(base)
    published, decisions, notices = [], [], []
    for person_key, view in sorted(people_as_of(state, declarations, as_of).items()):
        now, decided, told = gate_person(
            view, flags.get(person_key, []), bases.get(person_key, []), frozen.get(person_key, {}),
            last.get(person_key, {}), policy=policy, as_of=as_of, open_requests=set(), officer=gate.officer,
            estimator=gate.estimator, seen=frozenset(seen.get(person_key, ())), answered=answered.get(person_key, {}))
        published.extend(now)
        decisions.extend(decided)
        notices.extend(told)
    return published, decisions, notices


@pytest.mark.parametrize("as_of", ["run", "2025-10-06T08:00:00Z", "2026-01-12T08:00:00Z"])
def test_the_bases_the_gate_publishes_over_columns_are_those_it_gives_person_by_person(register, as_of):
    """Half of each bucket's people keep their frozen bases (the gate compares theirs, one by one), the others
    have none (their paying bases published as they are, over the columns): the same bases published, in the
    same order (person by person, as the frozen table is written), the same decisions and notices; before the
    gate's effective date, nothing."""
    path, committed, run_as_of = register
    as_of = run_as_of if as_of == "run" else as_of
    declarations = store.load_declarations(path, committed)
    rows = store.load_declarant_rows(path, committed)
    policy = load_policy()
    gate = GateInputs({}, {}, estimator_named(policy.gate.estimator))
    compared = fast = 0
    for bucket in range(2):
        state = store.load_bucket(path, bucket, committed)
        people = sorted({base.person_key for base in state.frozen})
        kept = set(people[::2])
        state = replace(state, frozen=[base for base in state.frozen if base.person_key in kept])
        derived = derive(state, declarations, rows, as_of, policy, registry_rules(), gate)
        assert isinstance(derived.published, BaseRows)
        published, decisions, notices = _person_by_person(state, derived, declarations, as_of, policy, gate)
        assert list(derived.published) == published
        assert derived.decisions == decisions and derived.notices == notices
        compared += sum(base.person_key in kept for base in published)
        fast += sum(base.person_key not in kept for base in published)
        late = replace(policy, gate=replace(policy.gate, effective_from="2099-01-01"))
        assert list(derive(state, declarations, rows, as_of, late, registry_rules(), gate).published) == []
    # at the run's date, the people kept frozen have this period's bases already: only the others' are published
    assert fast > 20 and (compared == 0 if as_of == run_as_of else compared > 20)
