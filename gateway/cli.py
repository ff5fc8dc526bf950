"""drm-gateway command line (typer + rich). Arguments it does not know are Beam pipeline
options and pass through unchanged (``--runner``, ``--direct_num_workers``, ``--setup_file``…)."""
from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Optional

from gateway import log

log.quiet_standard_logging()

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from gateway.errors import GatewayError
from gateway.layout import RunLayout
from gateway.options import Settings
from gateway.pseudonym import load_key, mask_nir

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Data-quality gateway for DSN/PASRAU flows.")
fixtures_app = typer.Typer(no_args_is_help=True, help="Generate realistic synthetic flows.")
app.add_typer(fixtures_app, name="fixtures")
from corrections.cli import app as corrections_app  # noqa: E402  (the corrections context's own commands)
app.add_typer(corrections_app, name="corrections")
err = Console(stderr=True)
out = Console()
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def bundled_flows() -> str:
    return str(resources.files("fixtures").joinpath("bundled"))


def _fail(error: Exception) -> None:
    sys.stderr.write(f"error: {error}\n")
    raise typer.Exit(2)


def _instant(value: str | None, option: str = "--as-of") -> str | None:
    """An instant option as the register writes it, or a one-line error (exit 2)."""
    from gateway.values import instant
    try:
        return None if value is None else instant(value)
    except ValueError:
        _fail(GatewayError(f"unreadable date @ {option} {value}: expected YYYY-MM-DD or an ISO instant "
                           "such as 2025-05-01T00:00:00Z"))


def _nir(value: str) -> str:
    """The 13 characters of a NIR given by an officer (13, or 15 with a key that must match), or a one-line
    error naming what is wrong, never echoing the NIR."""
    from stdnum.fr import nir as stdnum_nir
    compact = value.replace(" ", "").upper()
    if len(compact) == 15 and stdnum_nir.is_valid(compact):
        return compact[:13]
    if len(compact) == 13:
        try:
            if stdnum_nir.is_valid(compact + stdnum_nir.calc_check_digits(compact)):
                return compact
        except ValueError:
            pass
    _fail(GatewayError(f"invalid NIR @ --nir ({len(compact)} characters): expected 13 characters, or 15 with "
                       "its key, of a real NIR"))


def _split(inputs: list[str] | None, extra: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Beam options (``--name=value``) may land among the positional inputs: take them out."""
    items = list(inputs or [])
    beam_args = [item for item in items if item.startswith("--")] + list(extra)
    return tuple(item for item in items if not item.startswith("--")), tuple(beam_args)


def _replayed(settings: Settings, run_job) -> list:
    """Archived flows: one run per arrival date, oldest first; each run's results."""
    from dataclasses import replace
    from gateway.run import arrival_groups
    results = []
    groups = arrival_groups(settings)
    for number, (day, group) in enumerate(groups, 1):
        with err.status(f"run {number}/{len(groups)}: flows of {day}…", spinner="dots") as status:
            results.append(run_job(replace(settings, inputs=group), progress=lambda done, n=number: status.update(
                f"run {n}/{len(groups)}: flows of {day}: {done.line()}")))
        out.print(_one_line(number, day, results[-1].manifest))
    return results


@app.command(context_settings=PASS_THROUGH)
def run(
    ctx: typer.Context,
    inputs: Optional[list[str]] = typer.Argument(None, help="Files or folders (default: the bundled sample flows)."),
    out_dir: str = typer.Option("out", "--out", help="Output folder, or a URI (s3://bucket/prefix)."),
    watch: Optional[Path] = typer.Option(None, "--watch", help="Keep running: process each new file of this folder once."),
    once: bool = typer.Option(False, "--once", help="With --watch: process what is there, then stop."),
    interval: float = typer.Option(2.0, "--interval", help="With --watch: seconds between scans."),
    batch_size: int = typer.Option(500, "--batch-size", help="With --watch: files per pipeline run at most."),
    move_done: Optional[Path] = typer.Option(None, "--move-done", help="With --watch: move processed files to this "
                                             "folder (same relative paths)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Transaction time for all inputs (ISO; default: each "
                                                             "file's arrival, its modification time)."),
    arrival: str = typer.Option("mtime", "--arrival", help="Arrival of a file: mtime (its modification time) or "
                                                           "folder (its YYYY-MM[-DD] folder, to replay archives)."),
    policy: Optional[str] = typer.Option(None, "--policy", help="Policy file (YAML; default: the shipped one)."),
    register: Optional[str] = typer.Option(None, "--register", help="Register folder (default OUT/history/register)."),
    buckets: Optional[int] = typer.Option(None, "--buckets", min=1, max=4096, help="A new register's fixed person "
                                          "buckets (default: following its size; an existing one keeps its own)."),
    people_per_bucket: Optional[int] = typer.Option(None, "--people-per-bucket", min=1,
                                                    help="A new register's people per bucket (default 1000)."),
    open_requests: Optional[str] = typer.Option(None, "--open-requests", help="JSON lines (person_key, month) of "
                                                "open correction requests: the gate holds changes on them."),
    rederive_all: bool = typer.Option(False, "--rederive-all", help="Re-examine everyone of the buckets touched."),
    reference_path: bool = typer.Option(False, "--reference-path", help="Run every rule on every declaration and "
                                        "person, each through its block tree: the oracle the fast path is proven "
                                        "equal to (the same outputs; slower)."),
    key_file: Optional[str] = typer.Option(None, "--pseudonym-key-file", help="File holding the pseudonym key."),
    insecure_demo_key: bool = typer.Option(False, "--insecure-demo-key", help="Use a public demo key (sample data only)."),
    replay: bool = typer.Option(False, "--replay", help="Archived flows: one run per arrival date, oldest first "
                                "(as daily operation would have run them), then the gate's decisions of them all."),
    max_quarantine_rate: Optional[float] = typer.Option(
        None, "--max-quarantine-rate", min=0, max=100, help="Exit with code 3 when a run quarantines more than this "
        "percentage of the lines it read (its outputs are still written: the report says why)."),
) -> None:
    """Parse, validate and normalise flows; merge them into the register; write Parquet/Avro, quarantine,
    floating flags, reference-period bases and OUT/run.json."""
    log.configure()
    paths, beam_args = _split(inputs, ctx.args)
    as_of = _instant(as_of)
    if arrival not in ("mtime", "folder"):
        _fail(GatewayError(f"unknown arrival @ --arrival {arrival}: expected mtime or folder"))
    try:
        key = load_key(key_file=key_file, insecure_demo=insecure_demo_key)
        if watch is not None:
            from gateway.watch import watch_folder
            watch_folder(watch, Path(out_dir), key, beam_args, interval=interval, once=once, batch_size=max(1, batch_size),
                         move_done=move_done, report=lambda name, result: _summary(result.manifest, result.seconds, title=name),
                         say=lambda text: err.print(text, markup=False, highlight=False, soft_wrap=True))
            return
        from corrections import cli as corrections
        from gateway.run import run as run_job
        from gateway.storage import is_uri
        # A corrections store (beside local outputs): its open requests hold the gate.
        tracked = not is_uri(out_dir) and corrections.configured(Path(out_dir), None)
        if tracked and open_requests is None:
            open_requests = str(corrections.export_open_requests(Path(out_dir), None))
        settings = Settings(paths or (bundled_flows(),), out_dir, key, beam_args, as_of=as_of, policy=policy,
                            arrival=arrival, register=register, open_requests=open_requests, buckets=buckets,
                            people_per_bucket=people_per_bucket, rederive_all=rederive_all,
                            reference_path=reference_path)
        if replay:
            results = _replayed(settings, run_job)
            result = results[-1]
        else:
            with err.status("running the pipeline…", spinner="dots") as status:
                result = run_job(settings, progress=lambda done: status.update(f"reading the flows: {done.line()}"))
            results = [result]
        closed = corrections.sync_register(Path(out_dir), None, result.manifest["as_of"]) if tracked else []
    except GatewayError as error:
        _fail(error)
    _summary(result.manifest, result.seconds, title=str(RunLayout.of(out_dir).manifest))
    if replay:
        _gate_summary(results)
    if closed:
        out.print(f"corrections: {len(closed)} request(s) corrected by this run: {', '.join(closed)}")
    out.print(f"report: {_report_of(out_dir)}", soft_wrap=True)
    if max_quarantine_rate is not None:
        _quality_gate([r.manifest for r in results], max_quarantine_rate, out_dir)


def _report_of(out_dir: str) -> str:
    return f"{out_dir.rstrip('/')}/report/index.html"


def _quality_gate(manifests: list[dict], limit: float, out_dir: str) -> None:
    """Exit 3 with one line when a run quarantined more than ``limit`` % of the lines it read."""
    for manifest in manifests:
        read, quarantined = manifest["lines_read"], manifest["lines_quarantined"]
        rate = 100 * quarantined / read if read else 0.0
        if rate > limit:
            err.print(f"error: {rate:.1f} % of the lines read were quarantined ({quarantined:,} of {read:,}, run "
                      f"{manifest['run_id']}), above --max-quarantine-rate {limit:g} %: the outputs are written, see "
                      f"{_report_of(out_dir)}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(3)


def _one_line(number: int, day: str, manifest: dict) -> str:
    decisions = sum(manifest["gate"]["decisions"].values())
    return (f"run {number} ({day}): {manifest['files']:,} files, {manifest['lines_read']:,} lines, "
            f"{manifest['lines_quarantined']:,} quarantined; {manifest['gate']['bases_published']:,} bases published, "
            f"{decisions:,} gate decisions")


def _gate_summary(results: list) -> None:
    """The gate's decisions by kind over a replay's runs."""
    from collections import Counter
    kinds: Counter = Counter()
    for result in results:
        kinds.update(result.manifest["gate"]["decisions"])
    table = Table(title=f"frozen-effects gate — {len(results)} runs", show_header=True, min_width=48)
    table.add_column("decision")
    table.add_column("count", justify="right")
    for kind, count in sorted(kinds.items()):
        table.add_row(kind, f"{count:,}")
    if not kinds:
        table.add_row("none: no published base was revised by a later run", "0")
    out.print(table)


def _summary(manifest: dict, seconds: float, *, title: str) -> None:
    table = Table(title=f"drm-gateway run — {title}", show_header=False)
    for key in ("files", "declarations", "lines_read", "lines_used", "lines_ignored", "lines_quarantined",
                "resources", "quarantine_records", "warnings"):
        table.add_row(key, f"{manifest[key]:,}")
    rate = manifest["lines_read"] / seconds if seconds else 0
    table.add_row("conservation", "holds" if manifest["conservation_holds"] else "[red]BROKEN[/]")
    if "floating" in manifest:
        floating = manifest["floating"]
        table.add_row("register", f"{manifest['register']['versions_added']:,} versions added")
        table.add_row("floating rate", f"{floating['rate']:.1%} of {floating['months']:,} resource months "
                                       f"(as of {manifest['as_of']})")
        gate = manifest["gate"]
        table.add_row("gate", f"{gate['bases_published']:,} bases published; decisions: "
                      + (", ".join(f"{k} {v}" for k, v in gate["decisions"].items()) or "none"))
    table.add_row("time", f"{seconds:.2f} s ({rate:,.0f} lines/s)")
    out.print(table)


@app.command()
def rules(fmt: str = typer.Option("text", "--format", help="text or md"),
          target: Optional[Path] = typer.Option(None, "--out", help="Write to this file instead of printing.")) -> None:
    """Print the rule catalogue (id, severity, sentence) generated from the registry and the gate's table."""
    from gateway.gate.table import CATALOGUE
    from gateway.validate.catalogue import render
    from gateway.validate.registry import DEFAULT_RULES
    if fmt not in ("text", "md"):
        _fail(GatewayError(f"unknown format @ --format {fmt}: expected text or md"))
    text = render(fmt, [*DEFAULT_RULES, *CATALOGUE])
    if target is not None:
        from gateway.storage import write_text
        write_text(target, text)
        out.print(f"rule catalogue -> {target}")
    else:
        out.print(text, markup=False, highlight=False, soft_wrap=True)


@app.command()
def history(
    person: Optional[str] = typer.Option(None, "--person", help="Person key (pseudonym)."),
    nir: Optional[str] = typer.Option(None, "--nir", help="NIR (13 or 15 characters); shown masked."),
    month: Optional[str] = typer.Option(None, "--month", help="YYYY-MM"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Show what was known at this date (ISO)."),
    run_dir: Path = typer.Option(Path("out"), "--out", help="Output folder of the runs (default: out)."),
    register: Optional[Path] = typer.Option(None, "--register", help="Register folder (default OUT/history/register)."),
    key_file: Optional[str] = typer.Option(None, "--pseudonym-key-file"),
    insecure_demo_key: bool = typer.Option(False, "--insecure-demo-key"),
) -> None:
    """Print every version of one person's months (valid time, transaction time, cause, amounts)."""
    from gateway.pseudonym import Pseudonymiser
    from gateway.values import format_cents
    from gateway.versioning import store
    from gateway.versioning.register import as_of as versions_as_of
    if (person is None) == (nir is None):
        _fail(GatewayError("give exactly one of --person or --nir"))
    as_of = _instant(as_of)
    if month is not None:
        from gateway.values import month as a_month
        try:
            month = a_month(month)
        except ValueError:
            _fail(GatewayError(f"unreadable month @ --month {month}: expected YYYY-MM"))
    try:
        if nir is not None:
            person = Pseudonymiser(load_key(key_file=key_file, insecure_demo=insecure_demo_key)).person_key(
                _nir(nir), None, None)
    except GatewayError as error:
        _fail(error)
    folder = register or RunLayout.of(run_dir).register
    if not store.commits(folder):
        _fail(GatewayError(f"no register @ {folder}: expected the history of completed runs"))
    versions = store.load_all_versions(folder)
    mine = [v for v in versions if v.person_key == person and (month is None or v.month == month)]
    if as_of:
        mine = list(versions_as_of(mine, as_of).values())
    mine.sort(key=lambda v: (v.month, v.declarant_id, v.nature, v.version))
    table = Table(title=f"Versions — personne {mask_nir(mine[0].nir) if mine else person}"
                  + (f", connues au {as_of}" if as_of else ""))
    for column in ("mois", "déclarant", "nature", "v", "connue le", "cause", "net social", "net imposable",
                   "déclaration", "source"):
        table.add_column(column, overflow="fold")
    for v in mine:
        table.add_row(v.month, v.declarant_id, v.nature, str(v.version), v.transaction_time, v.cause.value,
                      format_cents(v.net_social_cents), format_cents(v.net_taxable_cents), v.declaration_id,
                      f"{v.file}:{v.first_line}")
    wide = out if out.is_terminal else Console(width=200)    # files and pipes get every column whole
    wide.print(table)
    if not mine:
        wide.print("aucune version")


@app.command()
def bases(
    as_of: str = typer.Option(..., "--as-of", help="Compute what was known at this transaction time (ISO)."),
    target: Path = typer.Option(..., "--out", help="Folder for flags/ and bases/ (Parquet, one part per bucket)."),
    run_dir: Path = typer.Option(Path("out"), "--run", help="Output folder of the runs (default: out)."),
    register: Optional[Path] = typer.Option(None, "--register", help="Register folder (default RUN/history/register)."),
    policy: Optional[str] = typer.Option(None, "--policy", help="Policy file (default: the shipped one)."),
) -> None:
    """Recompute floating flags and reference-period bases from the register as known at a date: what a
    run at that date published, byte for byte."""
    from gateway.replay import replay
    as_of = _instant(as_of)
    folder = register or RunLayout.of(run_dir).register
    try:
        counts = replay(folder, as_of, target, policy)
    except GatewayError as error:
        _fail(error)
    out.print(f"{counts['flags']:,} flags, {counts['bases']:,} bases as of {as_of} -> {target}")


@app.command()
def decide(
    decision_id: str = typer.Argument(..., help="Id of a REVIEW_CAP decision (OUT/decisions)."),
    regularise: bool = typer.Option(False, "--regularise", help="Apply the new values (the overpayment is raised)."),
    keep_frozen: bool = typer.Option(False, "--keep-frozen", help="Keep the published base; no overpayment."),
    spread: Optional[int] = typer.Option(None, "--spread", help="Raise the overpayment, spread over N months (2-12)."),
    reason: str = typer.Option(..., "--reason", help="Justification (kept with the decision)."),
    officer: str = typer.Option(..., "--user", "--officer", help="Console user deciding (a supervisor); their "
                                "password is $DRM_GATEWAY_PASSWORD, else asked on the terminal."),
    run_dir: Path = typer.Option(Path("out"), "--out", help="Output folder of the runs (default: out)."),
    register: Optional[Path] = typer.Option(None, "--register", help="Register folder (default OUT/history/register)."),
    db: Optional[str] = typer.Option(None, "--db", help="Store URL of the console users (default $DRM_GATEWAY_DB or "
                                                        "OUT/corrections.db)."),
) -> None:
    """Record a supervisor's decision on an overpayment above the cap; the next run applies and publishes it."""
    from corrections.cli import acting, audited, open_store
    from gateway.gate.officer import decide as record
    chosen = [name for name, on in (("regularise", regularise), ("keep-frozen", keep_frozen),
                                    ("spread", spread is not None)) if on]
    if len(chosen) != 1:
        _fail(GatewayError("give exactly one of --regularise, --keep-frozen or --spread N"))
    folder = register or RunLayout.of(run_dir).register
    try:
        store = open_store(run_dir, db)
    except GatewayError as error:
        _fail(error)
    officer = acting(store, officer, "decide")
    answer = audited(store, officer, f"decide:{chosen[0]}", decision_id,
                     lambda: record(folder, decision_id, chosen[0], reason=reason, officer=officer,
                                    spread_months=spread), reason)
    out.print(f"décision {answer.decision_id} : {answer.action} par {answer.officer} le {answer.at} "
              "(appliquée au prochain traitement)")


@app.command(context_settings=PASS_THROUGH)
def whatif(
    ctx: typer.Context,
    inputs: Optional[list[str]] = typer.Argument(None, help="Files or folders (default: the bundled sample flows)."),
    policies: list[str] = typer.Option(..., "--policy", help="Policy file; give two or more."),
    out_dir: Path = typer.Option(Path("out-whatif"), "--out", help="Folder for each policy's replay and the page."),
    arrival: str = typer.Option("folder", "--arrival", help="Arrival of a file: folder (default) or mtime."),
    key_file: Optional[str] = typer.Option(None, "--pseudonym-key-file"),
    insecure_demo_key: bool = typer.Option(False, "--insecure-demo-key"),
) -> None:
    """Replay the same flows and history under each policy and compare the gate's outcomes side by side."""
    from gateway.whatif import ROWS, verdict, whatif as compare, write_page
    log.configure()
    paths, beam_args = _split(inputs, ctx.args)
    if len(policies) < 2:
        _fail(GatewayError("give at least two --policy files to compare"))
    try:
        key = load_key(key_file=key_file, insecure_demo=insecure_demo_key)
        settings = Settings(paths or (bundled_flows(),), str(out_dir), key, beam_args, arrival=arrival)
        with err.status("replaying under each policy…", spinner="dots"):
            results = compare(policies, settings, out_dir)
    except GatewayError as error:
        _fail(error)
    table = Table(title="what-if — effets figés")
    table.add_column("")
    for name in results:
        table.add_column(name, justify="right")
    for key, label in ROWS:
        table.add_row(label, *(f"{summary[key]:,}" for summary in results.values()))
    out.print(table)
    if verdict(results):
        out.print(verdict(results))
    write_page(results, out_dir / "whatif.html")
    out.print(f"-> {out_dir / 'whatif.html'}")


users_app = typer.Typer(no_args_is_help=True, help="Console users (officer, supervisor, admin).")
app.add_typer(users_app, name="users")
AdminOption = typer.Option(None, "--user", help="The admin acting (required once an admin exists); their password "
                                                "is $DRM_GATEWAY_PASSWORD, else asked on the terminal.")


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., "--role", help="officer, supervisor or admin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    run_dir: Path = typer.Option(Path("out"), "--out", help="Output folder (default store OUT/corrections.db)."),
    db: Optional[str] = typer.Option(None, "--db", help="Store URL (default $DRM_GATEWAY_DB or OUT/corrections.db)."),
    admin: Optional[str] = AdminOption,
) -> None:
    """Create a console user; the password is asked (never a default, never on the command line). Once an admin
    exists, only an admin does it (--user)."""
    from console.users import add_user
    from corrections.cli import audited, open_store
    try:
        store = open_store(run_dir, db)
    except GatewayError as error:
        _fail(error)
    actor = _administrator(store, admin)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else typer.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    audited(store, actor, "user:add", username, lambda: add_user(store, username, password, role), role)
    out.print(f"user {username} ({role}) added")


def _administrator(store, admin: str | None) -> str:
    """Who manages users from the command line: an admin, checked like in the console, once one exists; before
    that, whoever installs the gateway creates the first users (recorded as 'operator')."""
    from console.users import users
    from corrections.cli import acting
    if not any(user.active and user.role == "admin" for user in users(store)):
        return "operator"
    if not admin:
        _fail(GatewayError("admin @ --user: expected an active admin's name (users are managed by an admin once "
                           "one exists)"))
    return acting(store, admin, "users")


@users_app.command("activate")
def users_activate(
    username: str = typer.Argument(..., help="Login name."),
    run_dir: Path = typer.Option(Path("out"), "--out", help="Output folder (default store OUT/corrections.db)."),
    db: Optional[str] = typer.Option(None, "--db", help="Store URL (default $DRM_GATEWAY_DB or OUT/corrections.db)."),
    admin: Optional[str] = AdminOption,
) -> None:
    """Reactivate a console user (also lifts a lock-out after repeated wrong passwords)."""
    _set_active(username, True, run_dir, db, admin)


@users_app.command("deactivate")
def users_deactivate(
    username: str = typer.Argument(..., help="Login name."),
    run_dir: Path = typer.Option(Path("out"), "--out", help="Output folder (default store OUT/corrections.db)."),
    db: Optional[str] = typer.Option(None, "--db", help="Store URL (default $DRM_GATEWAY_DB or OUT/corrections.db)."),
    admin: Optional[str] = AdminOption,
) -> None:
    """Deactivate a console user: their open sessions end at once (never the last active admin)."""
    _set_active(username, False, run_dir, db, admin)


def _set_active(username: str, active: bool, run_dir: Path, db: str | None, admin: str | None) -> None:
    from console.users import set_active
    from corrections.cli import audited, open_store
    try:
        store = open_store(run_dir, db)
    except GatewayError as error:
        _fail(error)
    actor = _administrator(store, admin)
    audited(store, actor, "user:activate" if active else "user:deactivate", username,
            lambda: set_active(store, username, active, by=actor))
    out.print(f"user {username} {'activated' if active else 'deactivated'}")


@app.command()
def console(
    host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port"),
    run_dir: Path = typer.Option(Path("out"), "--out", help="Output folder of the runs."),
    db: Optional[str] = typer.Option(None, "--db", help="Store URL (default $DRM_GATEWAY_DB or OUT/corrections.db)."),
    key_file: Optional[str] = typer.Option(None, "--pseudonym-key-file"),
    insecure_demo_key: bool = typer.Option(False, "--insecure-demo-key"),
) -> None:
    """The officers' web console (login required; create users with `drm-gateway users add`)."""
    import os
    import secrets

    import uvicorn

    from console.app import ConsoleConfig, create_app
    from corrections.cli import open_store
    log.configure()
    try:
        config = ConsoleConfig(out=run_dir, store=open_store(run_dir, db),
                               pseudonym_key=load_key(key_file=key_file, insecure_demo=insecure_demo_key),
                               secret=os.environ.get("DRM_GATEWAY_CONSOLE_SECRET") or secrets.token_hex(32))
    except GatewayError as error:
        _fail(error)
    out.print(f"console on http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", access_log=False)


report_app = typer.Typer(no_args_is_help=True, help="Regenerate reports from stored results.")
app.add_typer(report_app, name="report")


@report_app.command("declarant")
def report_declarant(
    declarant_id: str = typer.Argument(..., help="SIRET of the declarant (or 'inconnu')."),
    target: Path = typer.Option(..., "--out", help="Folder for the JSON and HTML report."),
    run_dir: Path = typer.Option(Path("out"), "--run", help="Output folder of the run (default: out)."),
    pdf: bool = typer.Option(False, "--pdf", help="Also write the same page as PDF."),
) -> None:
    """Write the declarant's anomaly report (JSON + HTML, and PDF) again from a run's stored findings."""
    import json

    from gateway.publish.report import regenerate_declarant_report
    manifest_path = RunLayout.of(run_dir).manifest
    if not manifest_path.is_file():
        _fail(GatewayError(f"no run found @ {manifest_path}: expected the --out folder of a completed run"))
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    paths = regenerate_declarant_report(run_dir, declarant_id, target, manifest.get("run_id", ""), pdf=pdf)
    out.print("\n".join(str(path) for path in paths))


register_app = typer.Typer(no_args_is_help=True, help="The register's tables (Delta Lake).")
app.add_typer(register_app, name="register")


@register_app.command("migrate")
def register_migrate(
    folder: Path = typer.Argument(..., help="Register folder written before the Delta tables (has _commits.jsonl)."),
) -> None:
    """Convert a register of the earlier layout (Parquet parts and a commit log) to Delta tables, in place."""
    from gateway.versioning.migrate import migrate
    try:
        done = migrate(folder)
    except GatewayError as error:
        _fail(error)
    out.print(f"register converted @ {folder}: {done.runs} runs, {done.parts} parts, {done.rows} rows")


@register_app.command("maintain")
def register_maintain(
    folder: Path = typer.Argument(..., help="Register folder."),
    retention_hours: int = typer.Option(24 * 7, "--retention-hours", min=0,
                                        help="Keep replaced files this long (time travel) before removing them."),
) -> None:
    """Compact the register's tables and remove the files no recent version needs (runs do it every few runs)."""
    from gateway.versioning import store
    if not store.commits(folder):
        _fail(GatewayError(f"no register @ {folder}: expected the history of completed runs"))
    store.maintain(folder, every=1, retention_hours=retention_hours)
    out.print(f"register compacted @ {folder}")


@register_app.command("resize")
def register_resize(
    folder: Path = typer.Argument(..., help="Register folder."),
    buckets: Optional[int] = typer.Option(None, "--buckets", min=1, max=4096,
                                          help="A fixed bucket count (runs keep it)."),
    people_per_bucket: Optional[int] = typer.Option(None, "--people-per-bucket", min=1,
                                                    help="A count that follows the register's size, this many "
                                                         "people per bucket at most (runs refit it)."),
) -> None:
    """Re-partition the register's person buckets and declaration shards (runs do it as the register grows)."""
    import fcntl
    from gateway.versioning import sizing, store
    if (buckets is None) == (people_per_bucket is None):
        _fail(GatewayError("expected one of --buckets N (a fixed count) or --people-per-bucket P (a count that "
                           "follows the register's size)"))
    if not store.commits(folder):
        _fail(GatewayError(f"no register @ {folder}: expected the history of completed runs"))
    with open(folder / ".register.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _fail(GatewayError(f"a run is merging into the register @ {folder}: resize it once the run ends"))
        before = store.buckets_of(folder)
        layout = {key: value for key, value in store.layout_of(folder).items() if key != "people_per_bucket"}
        store.write_layout(folder, {**layout, **({"people_per_bucket": people_per_bucket} if people_per_bucket
                                                 else {})})
        if buckets is not None:
            sizing.resize(folder, buckets)
        else:
            sizing.fit(folder, exact=True)
    out.print(f"register resized @ {folder}: {before} -> {store.buckets_of(folder)} buckets")


@fixtures_app.command("generate")
def fixtures_generate(
    out_dir: Path = typer.Option(..., "--out"),
    people: int = typer.Option(200, "--people"),
    employers: int = typer.Option(10, "--employers"),
    bodies: int = typer.Option(2, "--bodies"),
    months: int = typer.Option(6, "--months"),
    seed: int = typer.Option(1, "--seed"),
    start: str = typer.Option("2025-01", "--start", help="First main month, YYYY-MM."),
    defects: float = typer.Option(0.0, "--defects", help="Share of DSN files receiving one injected defect."),
    reach_back: int = typer.Option(4, "--reach-back", help="How many months back a regularisation, back pay or "
                                                           "net-social correction may reach (1: the month before)."),
) -> None:
    """Write deterministic DSN/PASRAU flows (one folder per arrival month) and ground_truth.json."""
    from fixtures.generator import Rates, generate
    if min(people, employers + bodies, months, reach_back) <= 0:
        _fail(GatewayError("people, employers + bodies, months and reach-back must be positive"))
    truth = generate(out_dir, people=people, employers=employers, bodies=bodies, months=months, seed=seed,
                     start=start, rates=Rates(defects=defects, reach_back=reach_back))
    out.print(f"{len(truth.files)} files, {len(truth.revisions)} revisions, {len(truth.defects)} defects "
              f"-> {out_dir}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
