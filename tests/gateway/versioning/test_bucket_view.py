"""A bucket's people as known at a date, over the columns of its rows (``BucketView``, the run's), against the
person-by-person reference (``people_as_of`` and ``month_histories``)."""
import random
from dataclasses import replace

import pytest

from fixtures.generator import Rates, generate
from gateway.options import Settings
from gateway.policy import load_policy
from gateway.run import run
from gateway.versioning import store
from gateway.versioning.register import BucketState
from gateway.records import Severity
from gateway.validate.registry import RuleRegistry, Target
from gateway.validate.rules import default_registry
from gateway.versioning.floating import bucket_flags, flags_of, floating_rules, over_columns
from gateway.versioning.view import BucketView, declarant_rates, month_histories, people_as_of
from schemas.records import FLOATING_FLAG, FlagRows
from tests.conftest import TEST_KEY

DAYS = ("2025-02-10T00:00:00Z", "2025-04-16T00:00:00Z", "2025-06-02T00:00:00Z")


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    """Seven months of generated flows (replacements, late and refused replacements, régularisations, back pay,
    net-social corrections, paying bodies' allowances, open contracts left undeclared) in two buckets."""
    root = tmp_path_factory.mktemp("bucket-view")
    generate(root / "flows", people=60, employers=4, bodies=2, months=7, seed=53, rates=Rates(replacement=0.4, late=0.3))
    result = run(Settings((str(root / "flows"),), str(root / "out"), TEST_KEY, buckets=2, arrival="folder"))
    path = root / "out" / "history" / "register"
    committed = [commit.run_id for commit in store.commits(path)]
    return path, committed, result.manifest["as_of"]


def _days(register):
    return (*DAYS, register[2])


def _states(register):
    path, committed, _ = register
    for bucket in range(2):
        state = store.load_bucket(path, bucket, committed)
        yield state
        # the ledger's and replay's states hold records, not rows, in any order: both give the same people
        versions = list(state.versions)
        random.Random(bucket).shuffle(versions)
        yield BucketState(list(state.contributions), state.mentions, versions, state.frozen, state.decisions)
        # a third of the people listed without amounts (their declarants' flows known from the mentions alone),
        # the mentions as records in any order
        listed = sorted({mention.person_key for mention in state.mentions})[::3]
        mentions = list(state.mentions)
        random.Random(bucket).shuffle(mentions)
        yield BucketState([c for c in state.contributions if c.person_key not in set(listed)], mentions,
                          state.versions, state.frozen, state.decisions)
        # paying bodies' mentions saying a contract is open, a month of theirs left out: only a DSN employer's open
        # contract makes the next month expected, so none of theirs is missing
        bodies = [replace(mention, open_contract=True) if mention.slot.startswith("PASRAU|") else mention
                  for mention in state.mentions
                  if not (mention.slot.startswith("PASRAU|") and mention.month == "2025-03")]
        assert sum(mention.open_contract for mention in bodies) > sum(mention.open_contract for mention in mentions)
        yield BucketState(state.contributions, bodies, state.versions, state.frozen, state.decisions)


def test_a_buckets_people_read_over_columns_are_those_read_person_by_person(register):
    """The same people, each with the same versions (in the same order, keyed alike), contributions of current
    declarations, mentions, flows and refused replacements, whatever is asked first; and the months each
    (declarant, nature) counts are those counted over the views."""
    path, committed, _ = register
    declarations = store.load_declarations(path, committed)
    compared = 0
    for state in _states(register):
        for as_of in _days(register):
            expected = people_as_of(state, declarations, as_of)
            bucket = BucketView(state, declarations, as_of)
            assert list(bucket.views) == sorted(expected)
            people = sorted(expected)
            bucket.load(people[::3])                               # some read at once, the others one by one
            for person in people:
                got, want = bucket.views[person], expected[person]
                assert got.flows == want.flows and got.mentions == want.mentions and got.refused == want.refused
                assert got.versions == want.versions and list(got.versions) == list(want.versions), person
                assert got.contributions == want.contributions, person
                assert got.keys_of("2025-03") == want.keys_of("2025-03")
                compared += len(want.versions)
            counts: dict = {}
            for view in expected.values():
                for key, versions in view.versions.items():
                    pair = counts.setdefault((key[1], key[2]), [0, 0])
                    pair[0] += 1
                    pair[1] += len(versions) > 1
            assert bucket.month_counts() == counts
    assert compared > 2000


@pytest.mark.parametrize("volatile", [False, True], ids=["shipped-policy", "every-declarant-volatile"])
def test_a_buckets_month_histories_made_over_columns_are_each_persons(register, volatile):
    """Every person's month histories, the quiet months left out or not, equal ``month_histories`` of their view,
    field for field and in order: on several days, with the shipped thresholds and with every declarant volatile
    (the rates read from the register), with months expected but never declared among them."""
    path, committed, last = register
    declarations = store.load_declarations(path, committed)
    policy = load_policy().floating
    if volatile:
        policy = replace(policy, volatile_declarant_min_months=1, volatile_declarant_revision_rate=0.0)
    rows = store.load_declarant_rows(path, committed)
    seen = {"histories": 0, "missing": 0, "quiet_left_out": 0, "late_replacement": 0, "spanning": 0}
    for state in _states(register):
        for as_of in _days(register):
            rates = declarant_rates(rows, as_of)
            views = people_as_of(state, declarations, as_of)
            for skip_quiet in (True, False):
                found = BucketView(state, declarations, as_of).histories(policy, rates, skip_quiet=skip_quiet)
                for person, view in views.items():
                    expected = month_histories(view, as_of, policy, rates, skip_quiet=skip_quiet)
                    assert found.get(person, []) == expected, (person, as_of, skip_quiet)
                    seen["histories"] += len(expected)
                    seen["missing"] += sum(history.expected_missing and not history.versions for history in expected)
                    seen["late_replacement"] += sum(bool(history.late_replacement) for history in expected)
                    seen["spanning"] += sum(history.spanning_allowance for history in expected)
                assert set(found) <= set(views)
            seen["quiet_left_out"] += (sum(map(len, BucketView(state, declarations, as_of).histories(
                policy, rates).values())) - sum(map(len, BucketView(state, declarations, as_of).histories(
                    policy, rates, skip_quiet=True).values())))
    assert all(count > 0 for count in seen.values()), seen


@pytest.mark.parametrize("loose", [False, True], ids=["shipped-policy", "loose-thresholds"])
def test_a_buckets_flags_made_over_columns_are_those_the_rules_give_month_by_month(register, loose):
    """``bucket_flags`` (each floating rule's condition over the months' columns) gives every person the flags the
    rules give over their month histories (``flags_of``): the same rules, scores, sentences, details, versions and
    origins, in the same order, on several days, quiet months left out or not, with the shipped thresholds and with
    loose ones (every declarant volatile, one payment is several), under which every rule is met."""
    path, committed, _ = register
    declarations = store.load_declarations(path, committed)
    policy = load_policy().floating
    if loose:
        policy = replace(policy, volatile_declarant_min_months=1, volatile_declarant_revision_rate=0.0,
                         several_payments_min=1)
    rules = floating_rules(default_registry())
    assert over_columns(rules) and not over_columns([*rules, _a_rule_of_its_own()])
    rows = store.load_declarant_rows(path, committed)
    met: set[str] = set()
    for state in _states(register):
        for as_of in _days(register):
            rates = declarant_rates(rows, as_of)
            if loose:                         # (one run's register holds no rate before its own date)
                rates |= {version.declarant_id: (0.25, 12) for version in state.versions}
            for skip_quiet in (True, False):
                bucket = BucketView(state, declarations, as_of)
                found = bucket_flags(bucket.months(policy, rates, skip_quiet=skip_quiet), rules, policy, as_of=as_of,
                                     policy_version="v")
                histories = bucket.histories(policy, rates, skip_quiet=skip_quiet)
                expected = [flag for person in bucket.views
                            for flag in flags_of(person, histories.get(person, ()), rules, policy, policy_version="v")]
                assert isinstance(found, FlagRows) and found.table.schema == FLOATING_FLAG.arrow
                assert list(found) == expected, (as_of, skip_quiet)       # every field, in the same order
                assert found.table.equals(FLOATING_FLAG.table(expected)), (as_of, skip_quiet)
                met.update(flag.rule_id for flag in expected)
    assert met == {rule.id for rule in rules} or not loose, met


def _a_rule_of_its_own():
    registry = RuleRegistry()

    @registry.rule("DRM-FLT-999", family="floating", severity=Severity.WARNING, target=Target.FLOATING,
                   explain="Règle d'essai.", reference="test")
    def revised_after_first_publication(history, policy):     # the name of one of the nine, not its check
        yield from ()
    return next(iter(registry))
