"""One benchmark stage, run in its own process so that its peak memory is its own.

    python -m bench.stages STAGE FOLDER [extra beam args]
prints one JSON line: stage, lines, seconds, peak_rss_mb.
"""
from __future__ import annotations

import importlib
import json
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator
from pathlib import Path

# Imported before the clock starts: a stage's time is its work, not Python start-up.
from gateway.ingest import TaskBatches, index_file, iter_outcomes
from gateway.inputs import group_files
from gateway.options import Settings
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.records import Outcome
from gateway.validate.rules import default_registry as _registry

# What the stages import beyond those, loaded by ``main`` before a stage's clock starts, and no more than the stage
# uses: a stage runs in its own process so that its peak memory is its own, and only the whole run needs Beam, about
# 75 MB of a process's memory that the other stages have no use for.
_IMPORTS = ("gateway.bucket", "gateway.register_run", "gateway.versioning.register", "gateway.versioning.columns",
            "gateway.gate.estimate", "gateway.policy", "gateway.publish.datasets", "gateway.parse.together",
            "gateway.parse.windows", "gateway.parse.blocks", "gateway.parse.declaration")
_BEAM_IMPORTS = {"run": ("gateway.run",)}


def _files(folder: str) -> list[str]:
    return sorted(str(p) for p in Path(folder).rglob("*.dsn"))


def floor(folder: str) -> int:
    lines = 0
    for path in _files(folder):
        with open(path, "rb") as fh:
            for _ in fh:
                lines += 1
    return lines


def index(folder: str) -> int:
    registry = _registry()
    lines = 0
    for path in _files(folder):
        for item in index_file(path, registry):
            if isinstance(item, Outcome):
                lines += item.counts.read
    return lines


def _spans(folder: str):
    """(open file, task, span) for every declaration of the folder, as the index finds them."""
    from gateway.ingest import DeclarationTask
    registry = _registry()
    for path in _files(folder):
        with open(path, "rb") as fh:
            for item in index_file(path, registry):
                if isinstance(item, DeclarationTask):
                    for span in item.spans:
                        yield fh, item, span


def _declarations(folder: str):
    """Every declaration of the folder, parsed as a run's worker parses them: index, then the declarations read a
    few together (gateway.parse.together.ReadAhead), those it leaves re-read alone."""
    from gateway.ingest import DeclarationTask
    from gateway.parse.declaration import read_declaration
    from gateway.parse.together import Piece, ReadAhead
    from gateway.parse.windows import WINDOW_LINES
    registry = _registry()
    pieces = [Piece(item.path, item.file, item.envoi_number, item.norm_version, span) for path in _files(folder)
              for item in index_file(path, registry) if isinstance(item, DeclarationTask) for span in item.spans]
    ahead = ReadAhead(pieces, window_lines=WINDOW_LINES)
    for index, piece in enumerate(pieces):
        found = ahead.take(index)
        if found is None:
            with open(piece.path, "rb") as fh:
                found = read_declaration(fh, piece.file, piece.span, piece.envoi_number, piece.norm_version)
        yield found
        found.release()       # as a run's worker does once a declaration is done: freed by reference counting


def blocks(folder: str) -> int:
    """Index, re-read and tokens, and the block tree as arrays (instance boundaries and parents) without a
    Python object per instance: the columnar part of ``parse`` alone."""
    from gateway.parse.blocks import block_structure
    from gateway.parse.declaration import flow_of, norm_for, read_tokens
    lines = 0
    for fh, task, span in _spans(folder):
        lines += span.span.lines
        if span.oversize_lines or span.binary_lines:
            continue                     # not read (as read_declaration does)
        _, (_, rubrics, _, _) = read_tokens(fh, span)
        norm = norm_for(flow_of(span.nature), task.norm_version)
        if rubrics and norm is not None:
            block_structure(rubrics, norm)
    return lines


def parse(folder: str) -> int:
    return sum(decl.line_count for decl in _declarations(folder))


def validate(folder: str) -> tuple[int, float]:
    """The rule checks alone (declaration and person rules), timed apart from parsing."""
    from gateway.parse import rubrics as R
    from gateway.validate.registry import Target
    registry = _registry()
    lines, spent = 0, 0.0
    for decl in _declarations(folder):
        started = time.perf_counter()
        registry.check(Target.DECLARATION, decl, flow=decl.flow, version=decl.norm_version)
        for person in decl.instances(R.INDIVIDUAL):
            registry.check(Target.PERSON, decl, person, flow=decl.flow, version=decl.norm_version)
        spent += time.perf_counter() - started
        lines += decl.line_count
    return lines, spent


def parse_validate_normalise(folder: str, reference: bool = False) -> int:
    """Parse, validate and normalise every file in process, as a run's workers take them (``_worker_outcomes``).
    ``reference``: every rule run on every subject (no columnar certificate skips any: gateway.validate.certify),
    the path the certificates are proven equal to."""
    registry = _registry()
    return sum(outcome.counts.read for outcome in _worker_outcomes(
        folder, registry.uncertified() if reference else registry, Pseudonymiser(DEMO_KEY)))


def _worker_outcomes(folder: str, registry, pseudonyms) -> Iterator[Outcome]:
    """Every outcome of the files of ``folder`` as a run's workers make them: files in the run's groups
    (``gateway.inputs.group_files``), each group's declarations in tasks of about TASK_LINES lines
    (``gateway.ingest.TaskBatches``: declarations read together, one batch check per task, not per file). A file's
    lines are all counted by its index's outcome."""
    files = _files(folder)
    for group in group_files([(path, path, "") for path in files], {path: Path(path).stat().st_size for path in files}):
        batches = TaskBatches()
        for path, _, _ in group:
            for item in index_file(path, registry):
                if isinstance(item, Outcome):
                    yield item
                elif full := batches.add(item):
                    yield from iter_outcomes(list(full), registry, pseudonyms)
        yield from iter_outcomes(list(batches.rest()), registry, pseudonyms)


@contextmanager
def _time_inside(module, *names: str):
    """Sum the time spent inside ``module.NAME`` for each name while the block runs: the call sites look them up
    in ``module``, so a real pass is measured and only that part of it is timed. Yields a one-item list."""
    originals = {name: getattr(module, name) for name in names}
    spent = [0.0]

    def timed(original):
        def call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started
        return call

    for name, original in originals.items():
        setattr(module, name, timed(original))
    try:
        yield spent
    finally:
        for name, original in originals.items():
            setattr(module, name, original)


def normalise(folder: str) -> tuple[int, float]:
    """Normalisation alone: the time inside turning accepted people into resource records and mentions, in a
    whole parse, validate and normalise pass: person by person on the object path, over the arrays for the
    declarations the columnar path takes (gateway.normalise.columnar)."""
    import gateway.ingest
    registry, pseudonyms = _registry(), Pseudonymiser(DEMO_KEY)
    with _time_inside(gateway.ingest, "normalise_person", "has_open_contract", "allowance_mentions", "subrogated_months",
                      "resource_records", "open_contracts", "columnar_subrogated_months",
                      "subrogated_allowances", "paid_allowances") as spent:
        lines = sum(outcome.counts.read for outcome in _worker_outcomes(folder, registry, pseudonyms))
    return lines, spent[0]


def _buckets(outcomes) -> dict[int, tuple]:
    """bucket -> (contributions as rows, mentions) of the outcomes, as the run spreads them."""
    import pyarrow as pa
    from gateway.register_run import split_by_bucket
    from gateway.versioning.columns import ContributionRows, contribution_rows
    from gateway.versioning.mentions import MentionRows, mention_rows
    from gateway.records import Outcome
    parts: dict[int, list] = {}
    mentions: dict[int, list] = {}
    batch, size = [], 0
    # the contributions and mentions of a few thousand records at once, as rows, as a run's task spills those of its
    # batch of declarations (a declaration received twice counts once either way: the merge keeps one contribution
    # per digest and key, one mention per digest and person)
    for index, outcome in enumerate(outcomes):
        batch.append(outcome)
        size += len(outcome.resources)
        if size >= 5000 or index + 1 == len(outcomes):
            combined = Outcome.combine(batch)
            for bucket, rows in split_by_bucket(contribution_rows(combined.resources).table).items():
                parts.setdefault(bucket, []).append(rows.table)
            for bucket, rows in split_by_bucket(mention_rows(combined).table, rows=MentionRows).items():
                mentions.setdefault(bucket, []).append(rows.table)
            batch, size = [], 0
    return {bucket: (ContributionRows(pa.concat_tables(parts[bucket]).combine_chunks()) if bucket in parts else [],
                     MentionRows(pa.concat_tables(mentions[bucket]).combine_chunks()) if bucket in mentions else [])
            for bucket in sorted({*parts, *mentions})}


def _register_inputs(outcomes, as_of: str):
    """The run's register inputs for ``outcomes`` arriving at ``as_of``: the declarations in arrival order,
    and each bucket's contributions and mentions."""
    from gateway.versioning.register import declaration_of_summary
    arriving = sorted((declaration_of_summary(s, as_of) for o in outcomes for s in o.summaries),
                      key=lambda d: (d.transaction_time, d.file, d.first_line))
    return arriving, _buckets(outcomes)


def _register_rules():
    from gateway.gate.estimate import LinearEstimator
    from gateway.policy import load_policy
    from gateway.validate.registry import Target
    from gateway.bucket import GateInputs
    registry = _registry()
    return dict(policy=load_policy(), rules=registry.for_target(Target.FLOATING),
                gate=GateInputs({}, {}, LinearEstimator()))


AS_OF = "2026-01-01T00:00:00Z"


def merged_buckets(outcomes, settings: dict, as_of: str = AS_OF):
    """Every bucket of ``outcomes`` merged into an empty register with flags, bases and the gate, as a run does:
    each bucket's result (``settings``: ``_register_rules()``)."""
    yield from _merged(_register_inputs(outcomes, as_of), settings, as_of)


def _merged(inputs: tuple, settings: dict, as_of: str):
    from gateway.bucket import process_bucket
    from gateway.register_run import values_of
    from gateway.versioning.register import BucketState
    arriving, buckets = inputs
    for contributions, mentions in buckets.values():
        slots = values_of(contributions, "slot") | values_of(mentions, "slot")
        yield process_bucket(BucketState(), known=[], arriving=[d for d in arriving if d.slot in slots],
                             contributions=contributions, mentions=mentions, run_id="bench", as_of=as_of,
                             declarant_rows=[], **settings)


def register(folder: str) -> tuple[int, float]:
    """Register merge, floating flags, bases and the gate for everything parsed (in-process, timed apart)."""
    registry, pseudonyms = _registry(), Pseudonymiser(DEMO_KEY)
    outcomes = list(_worker_outcomes(folder, registry, pseudonyms))
    lines = sum(o.counts.read for o in outcomes)
    settings = _register_rules()
    started = time.perf_counter()
    inputs = _register_inputs(outcomes, AS_OF)
    del outcomes                # as a run's register stage: its inputs are held, not the parsed records
    for _ in _merged(inputs, settings, AS_OF):
        pass
    return lines, time.perf_counter() - started


def monthly_register(folder: str):
    """The register as monthly runs build it: each arrival folder (YYYY-MM) of ``folder`` in turn, merged at the
    first of its month into the buckets of the months before (held in memory), the bases published so far
    frozen for the gate. Yields (lines read, gate decisions taken) per month. Close to what monthly runs decide,
    not the same: a run also revisits buckets with nothing arriving but decisions pending, and flags with the
    declarants' revision rates of the months before."""
    from gateway.bucket import committed, process_bucket
    from gateway.register_run import values_of
    from gateway.versioning.register import BucketState
    registry, pseudonyms = _registry(), Pseudonymiser(DEMO_KEY)
    settings = _register_rules()
    states: dict[int, BucketState] = {}
    known: list = []
    for month in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        as_of = f"{month.name[:7]}-01T00:00:00Z"
        outcomes = list(_worker_outcomes(str(month), registry, pseudonyms))
        arriving, buckets = _register_inputs(outcomes, as_of)
        lines = sum(o.counts.read for o in outcomes)
        del outcomes              # the month's inputs are in ``buckets`` now: only the register is held from here
        decisions = 0
        for bucket, (contributions, mentions) in buckets.items():
            prior = states.get(bucket, BucketState())
            slots = set().union(*(values_of(items, "slot")
                                  for items in (prior.contributions, prior.mentions, contributions, mentions)))
            result = process_bucket(prior, known=[d for d in known if d.slot in slots],
                                    arriving=[d for d in arriving if d.slot in slots], contributions=contributions,
                                    mentions=mentions, run_id=f"bench-{month.name}", as_of=as_of, declarant_rows=[],
                                    **settings)
            states[bucket] = committed(prior, result)
            decisions += len(result.derived.decisions)
        known.extend(arriving)
        yield lines, decisions


def gate(folder: str) -> tuple[int, float]:
    """The frozen-effects gate alone, as monthly runs meet it (:func:`monthly_register`): the time inside
    deciding, person by person, what is published and what a changed published base becomes."""
    import gateway.bucket
    with _time_inside(gateway.bucket, "gate_person") as spent:
        lines = sum(read for read, _ in monthly_register(folder))
    return lines, spent[0]


def register_monthly(folder: str, reference: bool = False) -> tuple[int, float]:
    """The register as monthly runs build it (:func:`monthly_register`: merge, flags, bases and the gate of each
    month's arrivals, timed apart from parsing them). ``reference``: every month through every floating rule (none
    left out as quiet: ``gateway.validate.rules.floating.quiet``)."""
    import gateway.bucket
    if reference:
        gateway.bucket.SILENT_WHEN_QUIET = frozenset()
    with _time_inside(gateway.bucket, "process_bucket") as spent:
        lines = sum(read for read, _ in monthly_register(folder))
    return lines, spent[0]


def register_monthly_reference(folder: str) -> tuple[int, float]:
    return register_monthly(folder, reference=True)


def run(folder: str, *beam_args: str) -> int:
    from gateway.run import run as run_job
    with tempfile.TemporaryDirectory() as out:
        return run_job(Settings((folder,), out, DEMO_KEY, beam_args)).manifest["lines_read"]


def parse_validate_normalise_reference(folder: str) -> int:
    return parse_validate_normalise(folder, reference=True)


STAGES = {"floor": floor, "index": index, "blocks": blocks, "parse": parse, "validate": validate,
          "normalise": normalise, "parse_validate_normalise": parse_validate_normalise,
          "parse_validate_normalise_reference": parse_validate_normalise_reference, "register": register,
          "gate": gate, "register_monthly": register_monthly, "register_monthly_reference": register_monthly_reference,
          "run": run}


def main() -> None:
    stage, folder, *extra = sys.argv[1:]
    for module in (*_IMPORTS, *_BEAM_IMPORTS.get(stage, ())):
        importlib.import_module(module)
    from gateway import log, memory
    log.configure(json=True)
    memory.tune()                         # what a run does first (allocator and collector settings)
    started = time.perf_counter()
    lines = STAGES[stage](folder, *extra)
    seconds = time.perf_counter() - started
    if isinstance(lines, tuple):          # a stage that times its own part
        lines, seconds = lines
    # VmHWM, not ru_maxrss: the latter carries the parent's high-water mark across vfork + exec.
    with open("/proc/self/status") as fh:
        own = int(next(line.split()[1] for line in fh if line.startswith("VmHWM")))
    peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)   # children: worker processes
    print(json.dumps({"stage": stage + (" " + " ".join(extra) if extra else ""), "lines": lines,
                      "seconds": round(seconds, 3), "peak_rss_mb": round(peak / 1024, 1)}))


if __name__ == "__main__":
    main()
