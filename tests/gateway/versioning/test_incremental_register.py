"""A run in the same month, under the same policy and release as the last one re-examines only the people it
concerns (gateway.register_run.concerned). The proof that this set is complete: the same history run twice, run
after run, once so and once re-deriving every person of the buckets each run touches (``rederive_all``, the
reference); after every run the decisions, the published bases and the notices are identical, the people
both re-examined get identical flags and bases, and each person only the reference re-examined gets the
flags and bases (stamps aside: date and ids) the incremental side gave them when it last examined them.

The history has every cause: arrivals, replacements (declarations superseded, their people losing amounts;
one, the same day, drops all but the first person of a declaration), late declarations, regularisations,
back pay, defects, several runs a day at different times (revision rates move between them: the policy
makes every declarant volatile, so a moved rate shows in the flags; or some, crossing the policy's rate in time), a new month (everyone), later days of a
month (a due date crossed: contracts open two months before; contradictory periods ended: notified
overpayments become final), correction
requests opened (holding a decided person's next change) and closed before the next run of the same day, an
officer's answer, PENDING and NOTIFIED decisions carried from run to run. Leaving the moved rates out of
``concerned`` fails the first test, and so does ignoring the requests' marks; leaving the superseded
declarations out fails the second, where nothing else concerns the people a replacement drops (each checked
when it was written).
"""
from pathlib import Path

import pytest
import yaml

import gateway.bucket
import gateway.run
from fixtures.generator import Rates, generate, replacement_keeping_first_person
from gateway.months import add_months
from gateway.options import Settings
from gateway.run import run
from gateway.versioning import store
from tests.conftest import TEST_KEY
from tests.gateway.versioning.proof import Proof, Requests, rows, sorted_rows, volatile_policy

MONTHS = 6


@pytest.fixture(scope="module")
def flows(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("incremental") / "flows"
    generate(folder, people=120, employers=8, bodies=2, months=MONTHS, seed=7,
             rates=Rates(late=0.10, replacement=0.15, regularisation=0.08, back_pay=0.05, net_social_correction=0.05,
                         defects=0.02))
    return folder


def _batches(flows: Path, extra: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Each arrival month's files in four runs on three days: on the 3rd at 09:00 (the month's first run:
    everyone), then at 15:00 (rates moved since 09:00); on the 16th (the 15th, when the month before last's next
    month fell due, has passed: DRM-FLT-005 may flag open contracts) and on the 27th (20 days after the 3rd: the
    overpayments notified then become final). In the third month, a run at the time of a later run holding a
    declaration of the month before brings only an annule-et-remplace of it that lists only its first person
    (written in ``extra``): the others lose that month though the run brings nothing for them (and their
    declarant's rate has not moved: its rows are of that time)."""
    batches = []
    for number, folder in enumerate(sorted(p for p in flows.iterdir() if p.is_dir())):
        files = sorted(str(p) for p in folder.rglob("*.dsn"))
        quarter = max(1, len(files) // 4)
        runs = [("03T09:00", files[:quarter]), ("03T15:00", files[quarter:2 * quarter]),
                ("16T15:00", files[2 * quarter:3 * quarter]), ("27T09:00", files[3 * quarter:])]
        if number == 2:                      # a declaration of the month before the folder's (in time)
            main = add_months(folder.name, -1).replace("-", "")
            at, original = next((index, Path(f)) for index, (_, chosen) in enumerate(runs) if index
                                for f in chosen if Path(f).name.startswith("dsn_") and f.endswith(f"_{main}_1.dsn"))
            dropped = extra / original.name.replace("_1.dsn", "_9.dsn")
            dropped.write_bytes(replacement_keeping_first_person(original.read_bytes(), rank=9))
            runs.insert(at + 1, (runs[at][0], [str(dropped)]))    # alone: nothing else moves for its people
        batches.extend((f"{folder.name}-{at}:00Z", tuple(chosen)) for at, chosen in runs if chosen)
    return batches


@pytest.mark.parametrize("revision_rate", [0.0, 0.1], ids=["every-declarant-volatile", "some-declarants-volatile"])
def test_reexamining_only_the_people_a_run_concerns_gives_what_rederiving_everyone_gives(flows, tmp_path, monkeypatch,
                                                                                      revision_rate):
    """Run after run, the incremental register publishes, decides and notifies exactly as re-deriving everyone
    does, and nobody it leaves alone would have got other flags or bases. Every declarant volatile (a moved rate
    always shows in flags), or those revising a tenth of their months: the others' moved rates show nowhere, and
    their people are not re-examined for them (gateway.versioning.view.rates_that_show)."""
    shown: list[tuple[int, int]] = []                 # per run: declarants whose rate moved, those it shows for
    rates_that_show = gateway.run.rates_that_show

    def counted(moved, *args):
        kept = rates_that_show(moved, *args)
        shown.append((len({declarant for declarant, _ in moved}), len({declarant for declarant, _ in kept})))
        return kept

    monkeypatch.setattr(gateway.run, "rates_that_show", counted)
    # 20 people a bucket: 120 people in 8 buckets (the register is resized after its first run)
    proof = Proof(tmp_path, monkeypatch, volatile_policy(tmp_path, revision_rate), people_per_bucket=20)
    batches = _batches(flows, tmp_path)
    requests = Requests(proof, tmp_path, opening_at=6)
    for number, (as_of, files) in enumerate(batches):
        requests.run(number, as_of, files, batches[number + 1][0] if number + 1 < len(batches) else None)
    proof.end()
    # The history did exercise what it is meant to: runs left people alone, an officer answered, the gate
    # decided (PENDING and NOTIFIED among them), correction requests held changes and were closed; rates moved,
    # and showed (for every declarant, or for some and not others).
    assert proof.incremental_runs >= MONTHS and proof.left_alone > 0
    requests.assert_exercised()
    assert any(kept for _, kept in shown)
    if revision_rate:
        assert any(kept < moved for moved, kept in shown)
    else:
        assert all(kept == moved for moved, kept in shown)


def test_a_replacement_dropping_people_the_same_day_versions_their_month_though_nothing_else_concerns_them(
        tmp_path):
    """Two runs at the same time: the second holds only an annule-et-remplace listing one person of eight. The
    seven others have nothing arriving, no decision, no moved rate (nothing arrived in between): the superseded
    declaration alone makes the run re-examine them, and each loses the month (a new version)."""
    flows = tmp_path / "flows"
    generate(flows, people=8, employers=1, bodies=0, months=1, seed=5, rates=Rates(0, 0, 0, 0, 0, 0, 0))
    [january] = flows.rglob("dsn_*_202501_1.dsn")
    out = tmp_path / "out"
    run(Settings((str(january),), str(out), TEST_KEY, as_of="2025-02-12T08:00:00Z"))
    replacement = tmp_path / "later" / "replacement.dsn"
    replacement.parent.mkdir()
    replacement.write_bytes(replacement_keeping_first_person(january.read_bytes(), rank=2))
    later = run(Settings((str(replacement),), str(out), TEST_KEY, as_of="2025-02-12T08:00:00Z"))
    assert later.manifest["lines_quarantined"] == 0
    commits = store.commits(out / "history" / "register")
    assert commits[0].derivation == commits[1].derivation          # the second run was incremental
    versions = store.load_all(out / "history" / "register", "versions")
    emptied = {v["person_key"] for v in versions if v["version"] == 2 and v["net_social_cents"] is None
               and v["cause"] == "REPLACEMENT"}
    assert len({v["person_key"] for v in versions}) == 8 and len(emptied) == 7
    assert len({f["person_key"] for f in rows(out, "flags")} | {b["person_key"] for b in rows(out, "bases")}) >= 7


def test_a_notified_overpayment_becomes_final_on_a_later_day_though_nothing_arrives_for_the_person(tmp_path):
    """Scenario of tests/gateway/gate/test_gate.py, through runs: RSA base of July published on 1 July, April
    corrected on 2 July (a 200 € overpayment, NOTIFIED, 5 days to ask for a correction in this policy). Another
    person of the same bucket sends files on 3 and 8 July. On 8 July nothing concerns the first person (no rows,
    their declarant's rate has not moved since the 3rd): the day alone makes the notice final, and the
    incremental register says so as re-deriving everyone does."""
    from datetime import date

    from fixtures import builders as B
    shipped = yaml.safe_load((Path(gateway.bucket.__file__).parent / "policy" / "default.yaml").read_text())
    shipped["version"] = "test-short-notice"
    shipped["gate"]["contradictory_days"] = 5
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(shipped, allow_unicode=True))
    born = date(1990, 6, 2)
    person, other = B.a_person(), B.a_person(nir=B.nir_for(2, born, 13, 55, 7), birth=born, last_name="DURAND")
    siret, other_siret = B.siret_from(B.siren_from(12)), B.siret_from(B.siren_from(77))

    def dsn(who, siret_of, month: date, **payment) -> bytes:
        end = B.month_end(month.year, month.month)
        return B.a_dsn_file((who, [B.a_payment(paid_on=end, period=(month, end), **payment)]), siret=siret_of,
                            main_month=month)
    april_corrected = dsn(person, siret, date(2025, 6, 1),
                          extra_net_social=[(20000, date(2025, 4, 1), date(2025, 4, 28))])
    runs = [("2025-04-05", dsn(person, siret, date(2025, 3, 1))), ("2025-05-05", dsn(person, siret, date(2025, 4, 1))),
            ("2025-06-05", dsn(person, siret, date(2025, 5, 1))), ("2025-07-01", dsn(other, other_siret,
                                                                                     date(2025, 3, 1))),
            ("2025-07-02", april_corrected), ("2025-07-03", dsn(other, other_siret, date(2025, 4, 1))),
            ("2025-07-08", dsn(other, other_siret, date(2025, 5, 1)))]
    sides = {"incremental": tmp_path / "incremental", "everyone": tmp_path / "everyone"}
    for number, (day, content) in enumerate(runs):
        folder = tmp_path / "flows" / f"{number}"
        folder.mkdir(parents=True)
        (folder / f"run{number}.dsn").write_bytes(content)
        for side, out in sides.items():
            run(Settings((str(folder),), str(out), TEST_KEY, as_of=f"{day}T08:00:00Z", policy=str(policy),
                         rederive_all=side == "everyone"))
        assert sorted_rows(rows(sides["incremental"], "decisions")) == \
            sorted_rows(rows(sides["everyone"], "decisions")), day
    commits = store.commits(sides["incremental"] / "history" / "register")
    assert commits[-1].derivation == commits[-2].derivation           # the last run was incremental
    statuses = [(d["benefit"], d["kind"], d["status"], d["as_of"][:10])
                for d in store.load_all(sides["incremental"] / "history" / "register", "decisions")]
    assert ("RSA", "REGULARISE", "NOTIFIED", "2025-07-02") in statuses
    assert ("RSA", "REGULARISE", "FINAL", "2025-07-08") in statuses
