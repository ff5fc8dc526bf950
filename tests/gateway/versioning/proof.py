"""What the proofs that the incremental register equals re-deriving everyone share: a volatile policy, the
rows of a run's outputs, and ``Proof``, the two registers of a proof run side by side and compared."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
import yaml

import gateway.bucket
from gateway.gate.officer import decide
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store
from tests.conftest import TEST_KEY

STAMPS = {"as_of", "flag_id", "base_id"}
DERIVED = ("flags", "bases")


def rows(out: Path, dataset: str) -> list[dict]:
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


def sorted_rows(rows: list[dict]) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)


def _register_rows(out: Path, table: str) -> list[str]:
    register = out / "history" / "register"
    return sorted_rows({k: v for k, v in row.items() if k not in ("_run", "_row")}
                       for row in store.load_all(register, table))


def volatile_policy(folder: Path, revision_rate: float = 0.0) -> Path:
    """The shipped policy, but every declarant volatile (or those revising at least ``revision_rate`` of their
    months): DRM-FLT-004 fires on their recent months and its detail gives the declarant's revision rate, so a rate
    that moves between two runs changes flags."""
    shipped = yaml.safe_load((Path(gateway.bucket.__file__).parent / "policy" / "default.yaml").read_text())
    shipped["version"] = "test-volatile"
    shipped["floating"]["volatile"].update(declarant_revision_rate=revision_rate, declarant_min_months=1)
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(shipped, allow_unicode=True))
    return path


class Proof:
    """The two registers of a proof: each run made on both, the incremental one and the one re-deriving everyone
    (the reference), then compared: the same register rows, decisions, published bases and notices; the people
    both re-examined get the same flags and bases; each person only the reference re-examined gets the flags and
    bases (stamps aside) the incremental side gave them when it last examined them."""

    def __init__(self, tmp_path: Path, monkeypatch, policy: Path, **settings) -> None:
        self.derived: list[set[str]] = []
        bucket_view = gateway.bucket.BucketView

        def recorded(state, declarations, as_of):          # who each path derives (in-process runner)
            found = bucket_view(state, declarations, as_of)
            self.derived[-1].update(found.views)
            return found
        monkeypatch.setattr(gateway.bucket, "BucketView", recorded)
        self.sides = {"incremental": tmp_path / "incremental", "everyone": tmp_path / "everyone"}
        self.policy, self.settings = policy, settings
        self.last: dict[str, dict[str, list[dict]]] = {}    # person -> dataset -> stripped rows when last derived
        self.left_alone = self.incremental_runs = 0

    def run(self, number: int, as_of: str, files: tuple[str, ...], **settings) -> None:
        examined, outputs = {}, {}
        for side, out in self.sides.items():
            self.derived.append(set())
            manifest = run(Settings(files, str(out), TEST_KEY, as_of=as_of, policy=str(self.policy),
                                    rederive_all=side == "everyone", **self.settings, **settings)).manifest
            examined[side] = self.derived[-1]
            outputs[side] = {name: rows(out, name) for name in (*DERIVED, "published", "decisions")}
            outputs[side]["notices"] = _notices(out)
            assert manifest["conservation_holds"]
        inc, full = outputs["incremental"], outputs["everyone"]
        where = f"run {number} at {as_of}"
        for table in ("versions", "contributions", "mentions"):
            assert _register_rows(self.sides["incremental"], table) == _register_rows(self.sides["everyone"], table), \
                (where, table)
        assert examined["incremental"] <= examined["everyone"], where
        assert sorted_rows(inc["decisions"]) == sorted_rows(full["decisions"]), where
        assert sorted_rows(inc["published"]) == sorted_rows(full["published"]), where
        assert inc["notices"] == full["notices"], where
        self.incremental_runs += examined["incremental"] != examined["everyone"]
        for name in DERIVED:
            mine, reference = _by_person(inc[name]), _by_person(full[name])
            for person in examined["incremental"]:
                assert mine.get(person, []) == reference.get(person, []), (where, name)
            for person in examined["everyone"] - examined["incremental"]:
                assert person in self.last, (where, "a person never examined before was left alone")
                assert _stripped(reference.get(person, [])) == self.last[person][name], (where, name)
                self.left_alone += name == "flags"
        for person in examined["incremental"]:
            self.last[person] = {name: _stripped(_by_person(inc[name]).get(person, [])) for name in DERIVED}

    def end(self) -> None:
        for table in ("decisions", "frozen"):
            assert _register_rows(self.sides["incremental"], table) == _register_rows(self.sides["everyone"], table), \
                table


class Requests:
    """The correction requests and the officer of a proof's history, the same on both sides: from run
    ``opening_at`` on, requests are opened on two people of the register, then on the months of every changed base
    the gate decided on (the person's next change there is held); a change held by a request whose request closes
    before the next run of the same day is let go by that run, though nothing arrives for the person; an officer
    answers the first REVIEW_CAP decision still open."""

    def __init__(self, proof: Proof, folder: Path, opening_at: int) -> None:
        self.proof, self.opening_at = proof, opening_at
        self.path = folder / "requests.jsonl"
        self.path.write_text("")
        self.opened: list[dict] = []
        self.let_go: set[str] = set()
        self.answered = 0

    def run(self, number: int, as_of: str, files: tuple[str, ...], next_as_of: str | None) -> None:
        """Run ``number`` on both sides, then what the claimants and the officer do before the next run."""
        self.proof.run(number, as_of, files, open_requests=str(self.path))
        everyone = self.proof.sides["everyone"]
        if number == self.opening_at:
            self.opened = [{"person_key": p, "month": as_of[:7]} for p in sorted(self.proof.last)[:2]]
        if number >= self.opening_at:
            self.opened += [r for r in _decided_months(everyone)
                            if r not in self.opened and r["person_key"] not in self.let_go]
        held = _held(everyone) & {r["person_key"] for r in self.opened}
        if held and next_as_of is not None and next_as_of[:10] == as_of[:10]:
            self.opened = [r for r in self.opened if r["person_key"] not in held]
            self.let_go |= held
        self.path.write_text("".join(json.dumps(r) + "\n" for r in self.opened))
        if not self.answered:
            open_cap = [d for d in latest_decisions(self.proof.sides["incremental"]) if d["kind"] == "REVIEW_CAP"]
            if open_cap:
                for out in self.proof.sides.values():
                    decide(out / "history" / "register", open_cap[0]["decision_id"], "keep-frozen",
                           reason="Erreur manifeste de l'employeur", officer="agent-1", now=as_of)
                self.answered = 1

    def assert_exercised(self) -> None:
        """The history did exercise what it is meant to: an officer answered, the gate decided (PENDING and
        NOTIFIED among them), correction requests held changes and were closed."""
        assert self.answered and self.let_go
        decisions = store.load_all(self.proof.sides["everyone"] / "history" / "register", "decisions")
        assert {"PENDING", "NOTIFIED"} <= {d["status"] for d in decisions}
        assert "HOLD_CORRECTION" in {d["kind"] for d in decisions}


def latest_decisions(out: Path) -> list[dict]:
    """The register's latest decision on each base (none before the first commit)."""
    register = out / "history" / "register"
    latest = {}
    for d in sorted(store.load_all(register, "decisions") if store.commits(register) else [],
                    key=lambda d: d["as_of"]):
        latest[(d["person_key"], d["benefit"], d["reference_month"])] = d
    return list(latest.values())


def _held(out: Path) -> set[str]:
    """The people whose latest decision on some base holds it for a correction request."""
    return {d["person_key"] for d in latest_decisions(out) if d["kind"] == "HOLD_CORRECTION"}


def _decided_months(out: Path) -> list[dict]:
    """Requests on every month of the changed bases of the people the gate decided on."""
    decisions = sorted(store.load_all(out / "history" / "register", "decisions"), key=lambda d: d["decision_id"])
    return [{"person_key": d["person_key"], "month": change.split(":")[0]}
            for d in decisions for change in d["monthly_changes"].split()]
