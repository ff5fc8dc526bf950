"""The driver of one run: resolve inputs, run the pipeline into a staging folder, then move the
datasets into place and write the manifest last (readers never see a half-written output)."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass, replace
from typing import Callable
from pathlib import Path


import structlog

from gateway import __version__, memory
from gateway.errors import ConfigurationError, RunFailedError, UnreadableFlowError
from gateway.faults import checkpoint
from gateway.inputs import InputFile, check_roots
from gateway.layout import RunLayout
from gateway.months import day_of_instant, month_of_instant
from gateway.options import Settings
from gateway.progress import Snapshot, Watcher
from gateway.publish.datasets import parts_for
from gateway.publish.history import compared, record_run, runs as history_runs
from gateway.publish.metrics import from_figures
from gateway.publish.report import DECLARANTS, FIGURES, TREND_RUNS, anomalies_by_declarant, write_run_report
from gateway.publish.spill import SPILL, read_objects, spill_objects
from gateway.storage import ObjectPath, is_uri, list_files, move_tree, remove_tree, write_json
from gateway.gate.estimate import estimator_named
from gateway.policy import load_policy
from gateway.versioning import migrate, sizing, store
from gateway.versioning.horizon import mentions_from, open_from
from gateway.versioning.view import rates_that_show
from transforms import pipeline
from gateway.register_run import (RegisterFigures, RegisterJob, derivation, derived_buckets, incremental_buckets,
                                  request_marks)

DATASETS = ("resources", "avro", "quarantine", "warnings", "flags", "bases", "published", "decisions", "notices",
            "report")
_log = structlog.get_logger()


@dataclass(frozen=True)
class RunResult:
    manifest: dict
    seconds: float


def run_id_of(inputs: list[dict]) -> str:
    """Same inputs and gateway version -> same run id (reruns replace their own history partition)."""
    digest = hashlib.sha256(__version__.encode())
    for item in sorted(inputs, key=lambda i: (i["file"], i["sha256"])):
        digest.update(f"{item['file']}\0{item['sha256']}\n".encode())
    return digest.hexdigest()[:16]


def absolute(settings: Settings) -> Settings:
    """Every path of the settings made absolute before a pipeline starts: a cluster's workers run in folders of
    their own, where a relative ``--out`` would silently land somewhere else."""
    def fixed(path: str | None) -> str | None:
        return path if path is None or is_uri(path) else os.path.abspath(path)
    return replace(settings, inputs=tuple(fixed(path) for path in settings.inputs), out=fixed(settings.out),
                   history=fixed(settings.history),
                   register=fixed(settings.register), policy=fixed(settings.policy),
                   open_requests=fixed(settings.open_requests))


def run(settings: Settings, progress: Callable[[Snapshot], None] | None = None) -> RunResult:
    """One run into ``settings.out``; refused with a clear error while another run writes there, or when the
    outputs cannot be written (a read-only folder, a full disk): then the run's temporary files are removed and
    the previous outputs stay as they were (a consumer may find no run.json: README, contract). ``progress`` is
    handed the files and lines done about once a second while the flows are read (``gateway.progress``)."""
    memory.tune()                                      # before the runner starts its threads
    check_roots(settings.inputs)                       # a path given that does not exist: refused before any write
    settings = absolute(settings)
    layout = RunLayout.of(settings.out, history=settings.history, register=settings.register)
    out = layout.out
    try:
        return _locked(settings, layout, fresh=not layout.out.exists(), progress=progress)
    except OSError as error:
        where = os.fsdecode(error.filename) if error.filename else str(out)
        raise RunFailedError(f"cannot write @ {where}: {error.strerror or error}; expected a writable output "
                             "folder with free space (previous outputs are unchanged or withdrawn, rerun when "
                             "fixed)") from None


def _locked(settings: Settings, layout: RunLayout, fresh: bool, progress=None) -> RunResult:
    out, register = layout.out, layout.register
    if isinstance(out, ObjectPath) or isinstance(register, ObjectPath):
        # Object storage has no file locks: one run at a time per output is the scheduler's to keep; the register
        # refuses a commit when another run committed since this one read it (store.commit, ``after``).
        return _cleaned(settings, layout, fresh, progress)
    out.mkdir(parents=True, exist_ok=True)
    register.mkdir(parents=True, exist_ok=True)
    with open(layout.run_lock, "w") as lock, open(layout.register_lock, "w") as register_lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(f"another run is writing @ {out}: expected one run at a time per output "
                                     "folder (wait for it, or use another --out)") from None
        try:
            fcntl.flock(register_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(f"another run is merging into the register @ {register}: expected one run "
                                     "at a time per register (wait for it)") from None
        return _cleaned(settings, layout, fresh, progress)


def _cleaned(settings: Settings, layout: RunLayout, fresh: bool, progress=None) -> RunResult:
    """The run, holding the output's locks; a run refused for its inputs or options leaves no folder it created
    (never one another run holds: a run refused the lock never gets here)."""
    try:
        return _run(settings, layout, progress)
    except (ConfigurationError, UnreadableFlowError):
        remove_tree(layout.staging)
        if fresh:
            remove_tree(layout.out)
        raise
    except BaseException:
        remove_tree(layout.staging)                   # spilled records hold NIRs: never left behind
        raise


LOG_EVERY = 10.0          # seconds between two progress events in the run's log


def _reporter(run_log, progress: Callable[[Snapshot], None] | None) -> Callable[[Snapshot], None]:
    """Progress to the caller (a terminal) at every poll, and to the log as a structured event every LOG_EVERY
    seconds and once when the flows are read."""
    last: list = [None, None]              # when the last event was logged, and what it said

    def report(snapshot: Snapshot) -> None:
        if progress is not None:
            progress(snapshot)
        event = snapshot.as_event()
        due = last[0] is None or snapshot.seconds - last[0] >= LOG_EVERY
        finished = snapshot.files_done >= snapshot.files and event["lines_done"] != (last[1] or {}).get("lines_done")
        if due or finished:
            last[0], last[1] = snapshot.seconds, event
            run_log.info("run.progress", **event)
    return report


def _run(settings: Settings, layout: RunLayout, progress=None) -> RunResult:
    out = layout.out
    started = time.monotonic()
    policy = load_policy(settings.policy)              # refused before anything is written
    estimator_named(policy.gate.estimator)
    staging = layout.staging
    remove_tree(staging)
    staging.mkdir()
    run_log = _log.bind(stage="run")
    files, inputs, arrivals, people = _stopped_cleanly(run_log, out, lambda: pipeline.inventory(
        settings.inputs, str(staging), settings.beam_args, settings.as_of, settings.arrival))
    run_log = run_log.bind(files=len(files))
    run_log.info("run.started")                       # once the inputs are listed: a refused run logs nothing
    run_id = run_id_of(inputs)
    history_dir, register_dir = layout.history, layout.register
    if migrate.is_legacy(register_dir):
        raise ConfigurationError(f"register in the earlier layout @ {register_dir}: expected Delta tables; convert "
                                 f"it once with: drm-gateway register migrate {register_dir}")
    sizes = {f[0]: i["bytes"] for f, i in zip(files, inputs)}
    job, commits = _register_job(settings, register_dir, run_id, arrivals, policy, sum(sizes.values()), people)
    parts = parts_for(sizing.run_people(sum(sizes.values()), people))
    with Watcher(str(staging), len(files), sum(sizes.values()), _reporter(run_log, progress)):
        staged_job = _stopped_cleanly(run_log, out, lambda: pipeline.run_parse(
            files, str(staging), settings.pseudonym_key, settings.beam_args, job, sizes,
            settings.reference_path, parts)) if files else None
    by_declarant, figures, groups = read_figures(str(staging))
    place = compared(history_dir, run_id, by_declarant)      # read only: the history is written once complete
    reports = pipeline.ReportJob(run_id, groups, spill_objects(
        str(staging), "report-anomalies", anomalies_by_declarant(place["anomalies"])))
    if files:
        _stopped_cleanly(run_log, out, lambda: pipeline.run_merge(str(staging), settings.beam_args, staged_job,
                                                                  reports))
    stats = _read_stats(staging)
    _check_coverage(stats, files, out)
    register = RegisterFigures.read(staging / "_register.json")
    withdraw_manifest(out)          # from here until the new run.json, a consumer sees no run (never a mix)
    outputs = _finalise(out, staging)
    manifest = {
        **stats,
        "run_id": run_id,
        "conservation_holds": stats["lines_read"] == stats["lines_used"] + stats["lines_ignored"]
        + stats["lines_quarantined"],
        "inputs": inputs,
        "outputs": outputs,
        "schema_versions": {"resource_month": 1, "quarantine": 1, "resource_version": 1, "floating_flag": 1,
                            "reference_base": 1},
        "as_of": job.as_of,
        "policy": {"version": policy.version, "sha256": policy.digest},
        "register": _register_figures(register, register_dir, job),
        "floating": floating_rates(register.months),
        "gate": {"bases_published": register.published, "decisions": dict(sorted(register.decisions.items()))},
    }
    metrics = from_figures(manifest, by_declarant, figures, register.flags_by_rule)
    history = record_run(history_dir, out, manifest["run_id"], metrics, place, summary={
        "as_of": job.as_of, "folder": _shown(out, history_dir.parent), "floating_rate": manifest["floating"]["rate"],
        "decisions": manifest["gate"]["decisions"]})
    # The trend: the runs up to this one (a rerun of an earlier run shows what it showed, byte for byte).
    history = {**history, "runs": history_runs(history_dir, upto=history["sequence"], last=TREND_RUNS)}
    outputs["report"] = sorted([*outputs["report"], *write_run_report(out, manifest, history, metrics)])
    checkpoint("manifest")
    if job.write and files:                            # the register sees the run once it is complete
        entry = store.Commit(run_id, job.as_of, manifest["register"]["declarations_added"],
                             manifest["register"]["versions_added"],
                             max(register.last_month, month_of_instant(job.as_of)), job.derivation or None,
                             derived_buckets(register.buckets, request_marks(job.open_requests, job.buckets)),
                             job.buckets)
        count = store.commit(register_dir, entry, after=len(commits), tables=job.tables())
        sizing.refit(register_dir, count=count)       # the bucket count follows the register's size
        store.maintain(register_dir, count=count)     # compaction and retention, every few runs
    folder = history_dir.resolve()
    shown = folder.relative_to(out.resolve()) if folder.is_relative_to(out.resolve()) else folder
    manifest["history"] = {"folder": str(shown), "sequence": history["sequence"],
                           "anomalies": len(history["anomalies"])}
    write_json(layout.manifest, manifest)
    seconds = time.monotonic() - started
    run_log.info("run.completed", seconds=round(seconds, 3), **{k: stats[k] for k in (
        "lines_read", "lines_used", "lines_ignored", "lines_quarantined", "declarations", "resources")})
    return RunResult(manifest, seconds)


def _shown(folder: Path, base: Path) -> str:
    """``folder`` relative to ``base`` when it is inside it (a watch batch: ``batches/000003``), else ``.``."""
    folder, base = folder.resolve(), base.resolve()
    return str(folder.relative_to(base)) if folder.is_relative_to(base) else "."


def _register_job(settings: Settings, register_dir: Path, run_id: str, arrivals: dict[str, str], policy,
                  input_bytes: int, people: int = 0) -> tuple[RegisterJob, list[store.Commit]]:
    """What the register stage of the run needs, and the register's committed runs it was made from (as pinned:
    the state of the register the whole run reads)."""
    as_of = max(arrivals.values(), default="")
    if settings.buckets:
        buckets = store.ensure_layout(register_dir, settings.buckets, people_per_bucket=None)
    else:
        per_bucket = settings.people_per_bucket or sizing.PEOPLE_PER_BUCKET
        buckets = store.ensure_layout(register_dir, sizing.first_buckets(input_bytes, per_bucket, people),
                                      per_bucket)
    if sizing.resume(register_dir):                   # a resize a crash stopped half-way
        buckets = store.buckets_of(register_dir)
    # Every table read at one version for the whole run (the driver here, the workers, the commit).
    tables = store.Tables(register_dir)
    pins = tables.pin()
    commits = store.commits(register_dir, tables)
    committed = [c.run_id for c in commits]
    # A rerun of a committed run reads the register without its own parts and writes nothing: it
    # computes what the run computed the first time (same outputs) and leaves the register as it is.
    visible = tuple(c for c in committed if c != run_id)
    first_open = open_from(policy, as_of)
    # The runs that wrote rows of months still open (gateway.versioning.horizon): the only ones a bucket reads.
    recent = visible if first_open is None else tuple(
        c.run_id for c in commits
        if c.run_id != run_id and (c.last_month is None or c.last_month >= mentions_from(first_open)))
    derived_under = derivation(as_of, policy, buckets)
    requests = open_requests(settings.open_requests)
    marks = request_marks(requests, buckets)
    # The buckets the runs before this one (a rerun: before its first time) last derived under the same month,
    # policy, release and open requests: there, this run re-examines only the people it concerns
    # (register_run.concerned).
    before = commits[:committed.index(run_id)] if run_id in committed else commits
    same, requests_moved = incremental_buckets(before, derived_under, as_of, marks)
    if settings.rederive_all:
        same = {}
    revisit = {*store.pending_buckets(register_dir, recent, since=first_open, tables=tables), *requests_moved}
    job = RegisterJob(root=str(register_dir), run_id=run_id, committed=visible,
                      arrivals=tuple(sorted(arrivals.items())), as_of=as_of, policy_path=settings.policy,
                      buckets=buckets, write=run_id not in committed, open_requests=requests,
                      revisit=tuple(sorted(revisit)), first_open=first_open, recent=recent, derivation=derived_under,
                      incremental=tuple(sorted(same.items())), pins=pins,
                      rates_moved=_rates_moved(tables, visible, min(same.values()), as_of, policy) if same else ())
    return job, commits


def _rates_moved(tables: store.Tables, visible: tuple[str, ...], since: str, as_of: str, policy
                 ) -> tuple[tuple[str, str], ...]:
    """The declarants whose revision rate moved since the buckets' last derivations and shows in a flag
    (``view.rates_that_show``): their people are re-examined (``register_run.concerned``)."""
    moved = store.declarants_between(tables.root, visible, since, as_of, tables=tables)
    if not moved:
        return ()
    rows = store.load_declarant_rows(tables.root, visible, declarants={declarant for declarant, _ in moved},
                                     tables=tables)
    return rates_that_show(moved, rows, policy.floating, since, as_of)


def _stopped_cleanly(run_log, out, step):
    """A pipeline run; a storage or runner failure becomes a one-line error, the outputs untouched."""
    try:
        return step()
    except (RunFailedError, ConfigurationError, UnreadableFlowError):
        raise
    except Exception as error:  # noqa: BLE001 - storage or runner failure: stop cleanly, outputs untouched
        run_log.error("run.failed", error=type(error).__name__)
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise RunFailedError(f"run stopped before completing @ {out}: {reason}; previous outputs are "
                             "unchanged, rerun when the cause is fixed") from None


def _register_figures(register: RegisterFigures, register_dir: Path, job: RegisterJob) -> dict:
    """What the run adds (or added, for a rerun) to the register."""
    if not job.write:
        _log.info("register.already_committed", stage="register")
    return {"declarations_added": register.declarations_added, "versions_added": register.versions_added}


def floating_rates(months: dict[str, list[int]]) -> dict:
    """Share of resource months revised after first publication: overall, per declarant, per nature."""
    def rate(pairs) -> dict:
        total = sum(p[0] for p in pairs)
        revised = sum(p[1] for p in pairs)
        return {"months": total, "revised": revised, "rate": round(revised / total, 4) if total else 0.0}
    by_declarant: dict[str, list] = {}
    by_nature: dict[str, list] = {}
    for key, counts in months.items():
        declarant, nature = key.split("|")
        by_declarant.setdefault(declarant, []).append(counts)
        by_nature.setdefault(nature, []).append(counts)
    return {**rate(list(months.values())),
            "by_declarant": {d: rate(c) for d, c in sorted(by_declarant.items())},
            "by_nature": {n: rate(c) for n, c in sorted(by_nature.items())}}


def arrival_groups(settings: Settings) -> list[tuple[str, tuple[str, ...]]]:
    """The inputs by arrival date, oldest first: ``(YYYY-MM-DD, paths)``, for a replay of archived flows one run
    per arrival date (what a daily operation would have done)."""
    from gateway.inputs import arrival_of, resolve_inputs
    groups: dict[str, list[str]] = {}
    for path, label, _ in resolve_inputs(settings.inputs):
        groups.setdefault(day_of_instant(arrival_of(path, label, settings.as_of, settings.arrival)),
                          []).append(os.fsdecode(path))
    return [(day, tuple(paths)) for day, paths in sorted(groups.items())]


def open_requests(path: str | None) -> tuple[tuple[str, str], ...]:
    """(person, month) pairs with a correction request open, from a JSON-lines file (person_key, month)."""
    if not path:
        return ()
    pairs = set()
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigurationError(f"open requests unreadable @ {path}: {error.strerror or error}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            pairs.add((str(item["person_key"]), str(item["month"])))
        except (ValueError, KeyError, TypeError):
            raise ConfigurationError(f"open requests @ {path}:{number}: expected a JSON object with person_key "
                                     "and month") from None
    return tuple(sorted(pairs))


def _check_coverage(stats: dict, files: list[InputFile], out: Path) -> None:
    """Refuse to publish or commit a run whose pipeline did not account for every input file and line (a
    worker that wrote elsewhere, a runner that dropped a branch): the outputs stay as they were."""
    if not files:
        return
    accounted = stats["lines_used"] + stats["lines_ignored"] + stats["lines_quarantined"]
    if stats["files"] != len(files):
        found = f"the pipeline accounted for {stats['files']} of {len(files)} input files"
    elif stats["lines_read"] != accounted:
        found = f"the pipeline accounted for {accounted} of {stats['lines_read']} lines read"
    else:
        return
    raise RunFailedError(f"run incomplete @ {out}: {found}; expected every file and line counted (previous outputs "
                         "are unchanged, nothing committed; check that the workers see the same paths)")


def read_figures(staging: str) -> tuple[dict[str, dict], dict, tuple[int, ...]]:
    """The run's figures the pipeline summed: per declarant (from every report group), per rule and nature, and
    the report groups that have declarants."""
    by_declarant, groups = {}, set()
    for path in list_files(f"{staging}/{SPILL}/{DECLARANTS}"):
        groups.add(int(path.rsplit("group=", 1)[1].split("/", 1)[0]))
        by_declarant.update(read_objects(path))
    run = [read_objects(path) for path in list_files(f"{staging}/{SPILL}/{FIGURES}")]
    return dict(sorted(by_declarant.items())), (run[0] if run else {}), tuple(sorted(groups))


def _read_stats(staging: Path) -> dict:
    from transforms.publish import STAT_KEYS
    path = staging / "_stats.json"
    stats = json.loads(path.read_text()) if path.exists() else {}
    return {key: int(stats.get(key, 0)) for key in STAT_KEYS}


def withdraw_manifest(out: Path) -> None:
    """Remove the previous run's manifest before the first dataset of the new run moves in, durably: a reader
    who finds ``run.json`` finds the datasets it describes (README: contract for consumers)."""
    manifest = RunLayout.of(out).manifest
    if manifest.exists():
        manifest.unlink()
        if isinstance(out, ObjectPath):
            return                                    # an object store's delete is durable when it returns
        descriptor = os.open(out, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _finalise(out: Path, staging: Path) -> dict[str, list[str]]:
    """Swap each dataset folder into place; old ones go only once the new one is complete."""
    outputs: dict[str, list[str]] = {}
    for name in DATASETS:
        new, final, old = staging / name, out / name, out / f".old-{name}"
        remove_tree(old)
        if final.exists():
            move_tree(final, old)
        if new.exists():
            move_tree(new, final)
            checkpoint("finalise")
            outputs[name] = sorted(str(p.relative_to(out)) for p in final.rglob("*") if p.is_file())
        else:
            outputs[name] = []
        remove_tree(old)
    remove_tree(staging)
    return outputs


