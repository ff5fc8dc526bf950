"""A run on the same day, policy and release as the last one re-examines only the people it concerns
(gateway.register_run.concerned). The proof that this set is complete: the same history run twice, run
after run, once so and once re-deriving every person of the buckets each run touches (``rederive_all``, the
reference); after every run the decisions, the published bases and the notices are identical, the people
both re-examined get identical flags and bases, and each person only the reference re-examined gets the
flags and bases (stamps aside: date and ids) the incremental side gave them when it last examined them.

The history has every cause: arrivals, replacements (declarations superseded, their people losing amounts),
late declarations, regularisations, back pay, defects, several runs a day at different times (revision
rates move between them), a new day (everyone), correction requests opened, an officer's answer, PENDING and
NOTIFIED decisions carried from run to run.
"""
import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest

import gateway.bucket
from fixtures.generator import Rates, generate
from gateway.gate.officer import decide
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store
from tests.conftest import TEST_KEY

MONTHS = 6
STAMPS = {"as_of", "flag_id", "base_id"}
DERIVED = ("flags", "bases")


def _rows(out: Path, dataset: str) -> list[dict]:
    folder = out / dataset
    if not folder.exists() or not any(folder.rglob("*.parquet")):
        return []
    return ds.dataset(str(folder), format="parquet").to_table().to_pylist()


def _by_person(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["person_key"], []).append(row)
    return {person: sorted(items, key=lambda r: json.dumps(r, sort_keys=True, default=str))
            for person, items in out.items()}


def _stripped(rows: list[dict]) -> list[dict]:
    return sorted(({k: v for k, v in row.items() if k not in STAMPS} for row in rows),
                  key=lambda r: json.dumps(r, sort_keys=True, default=str))


def _notices(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((out / "notices").glob("*.json"))}


def _sorted(rows: list[dict]) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)


@pytest.fixture(scope="module")
def flows(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("incremental") / "flows"
    generate(folder, people=120, employers=8, bodies=2, months=MONTHS, seed=7,
             rates=Rates(late=0.10, replacement=0.15, regularisation=0.08, back_pay=0.05, net_social_correction=0.05,
                         defects=0.02))
    return folder


def _batches(flows: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Each arrival month's files in three runs on one day: at 09:00 (the day's first run: everyone), then two
    at 15:00 (rates moved since 09:00; then nothing moved)."""
    batches = []
    for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
        files = sorted(str(p) for p in folder.rglob("*.dsn"))
        third = max(1, len(files) // 3)
        for at, chosen in (("09:00", files[:third]), ("15:00", files[third:2 * third]), ("15:00", files[2 * third:])):
            if chosen:
                batches.append((f"{folder.name}-03T{at}:00Z", tuple(chosen)))
    return batches


def test_reexamining_only_the_people_a_run_concerns_gives_what_rederiving_everyone_gives(flows, tmp_path,
                                                                                      monkeypatch):
    """Run after run, the incremental register publishes, decides and notifies exactly as re-deriving everyone
    does, and nobody it leaves alone would have got other flags or bases."""
    derived: list[set[str]] = []
    people_as_of = gateway.bucket.people_as_of

    def recorded(state, declarations, as_of):          # who each path derives (in-process runner)
        found = people_as_of(state, declarations, as_of)
        derived[-1].update(found)
        return found
    monkeypatch.setattr(gateway.bucket, "people_as_of", recorded)

    sides = {"incremental": tmp_path / "incremental", "everyone": tmp_path / "everyone"}
    requests = tmp_path / "requests.jsonl"
    requests.write_text("")
    last: dict[str, dict[str, list[dict]]] = {}            # person -> dataset -> stripped rows when last derived
    left_alone = incremental_runs = answered = 0
    for number, (as_of, files) in enumerate(_batches(flows)):
        examined, outputs = {}, {}
        for side, out in sides.items():
            derived.append(set())
            manifest = run(Settings(files, str(out), TEST_KEY, as_of=as_of, open_requests=str(requests),
                                    rederive_all=side == "everyone")).manifest
            examined[side] = derived[-1]
            outputs[side] = {name: _rows(out, name) for name in (*DERIVED, "published", "decisions")}
            outputs[side]["notices"] = _notices(out)
            assert manifest["conservation_holds"]
        inc, full = outputs["incremental"], outputs["everyone"]
        where = f"run {number} at {as_of}"
        assert examined["incremental"] <= examined["everyone"], where
        assert _sorted(inc["decisions"]) == _sorted(full["decisions"]), where
        assert _sorted(inc["published"]) == _sorted(full["published"]), where
        assert inc["notices"] == full["notices"], where
        incremental_runs += examined["incremental"] != examined["everyone"]
        for name in DERIVED:
            mine, reference = _by_person(inc[name]), _by_person(full[name])
            for person in examined["incremental"]:
                assert mine.get(person, []) == reference.get(person, []), (where, name)
            for person in examined["everyone"] - examined["incremental"]:
                assert person in last, (where, "a person never examined before was left alone")
                assert _stripped(reference.get(person, [])) == last[person][name], (where, name)
                left_alone += name == "flags"
        for person in examined["incremental"]:
            last[person] = {name: _stripped(_by_person(inc[name]).get(person, [])) for name in DERIVED}
        if number == 6:            # correction requests opened on two people of the register
            people = sorted(last)[:2]
            requests.write_text("".join(json.dumps({"person_key": p, "month": as_of[:7]}) + "\n" for p in people))
        if not answered:           # an officer answers the first REVIEW_CAP decision still open, on both sides
            register = sides["incremental"] / "history" / "register"
            decisions = store.load_all(register, "decisions") if store.commits(register) else []
            latest = {}
            for d in sorted(decisions, key=lambda d: d["as_of"]):
                latest[(d["person_key"], d["benefit"], d["reference_month"])] = d
            open_cap = [d for d in latest.values() if d["kind"] == "REVIEW_CAP"]
            if open_cap:
                for out in sides.values():
                    decide(out / "history" / "register", open_cap[0]["decision_id"], "keep-frozen",
                           reason="Erreur manifeste de l'employeur", officer="agent-1", now=as_of)
                answered = 1
    registers = {side: out / "history" / "register" for side, out in sides.items()}
    for table in ("versions", "decisions", "frozen", "contributions", "mentions"):
        rows = {side: _sorted({k: v for k, v in row.items() if k not in ("_run", "_row")}
                              for row in store.load_all(root, table)) for side, root in registers.items()}
        assert rows["incremental"] == rows["everyone"], table
    # The history did exercise what it is meant to: runs left people alone, an officer answered, the gate
    # decided (PENDING and NOTIFIED among them), correction requests were open.
    assert incremental_runs >= MONTHS and left_alone > 0 and answered
    statuses = {d["status"] for d in store.load_all(registers["everyone"], "decisions")}
    assert {"PENDING", "NOTIFIED"} <= statuses
