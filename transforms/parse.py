"""Files -> outcomes. Elements are small descriptors (a path, or a path + byte ranges), so that
each worker reads and parses its own share (ENGINEERING.md: never ship lines between workers)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import apache_beam as beam
import structlog

from gateway import log, memory
from gateway.faults import checkpoint
from gateway.progress import mark
from gateway.ingest import (DeclarationTask, TaskBatches, check_declarant, check_person_flows, count_lines,
                            index_file, iter_outcomes)
from gateway.parse.index import DeclarationSpan
from gateway.pseudonym import Pseudonymiser
from gateway.records import LineCounts, Outcome, Origin, Severity, Violation
from gateway.validate.rules import default_registry
from gateway.validate.quarantine import quarantine_records

from transforms.tagged import Spread, split_tagged
from transforms import steps

if TYPE_CHECKING:
    from gateway.register_run import RegisterJob

TASKS = "tasks"
OUTCOMES = "outcomes"
CRASH_RULE = "DRM-RUN-001"
CRASH_EXPLAIN = ("Une erreur interne de la passerelle a empêché de traiter cette partie du fichier ; elle est "
                 "mise de côté et sera retraitée après correction.")
_log = structlog.get_logger()


def crash_outcome(file: str, first_line: int, last_line: int, lines: int, error: BaseException, *,
                  read: int = 0, files: int = 0) -> Outcome:
    """An unexpected error quarantines what it touched, counted: nothing is lost, no traceback."""
    violation = Violation(CRASH_RULE, Severity.FILE, Origin(file, first_line, last_line), "",
                          f"internal error {type(error).__name__}: expected the unit to be processed", CRASH_EXPLAIN,
                          "run")
    records = quarantine_records([violation], scope=Severity.FILE, lines=lines, first_line=first_line,
                                 last_line=last_line)
    return Outcome(quarantine=records, counts=LineCounts(read=read, quarantined=lines), files=files)


class _IndexFile(steps.Step):
    def __init__(self, staging: str | None = None) -> None:
        self._staging = staging          # where progress markers go (None: not reported)

    def setup(self) -> None:
        log.configure()
        memory.tune_collector()
        self._registry = default_registry()

    def process(self, group: list[tuple]):
        """A group of files (small files travel together) -> their outcomes, and their declarations
        as groups of tasks of about TASK_LINES lines."""
        batches = TaskBatches()
        lines = 0                      # lines the index accounts for itself (envelopes, headers, refused files)
        for path, label, refused in group:
            try:
                items = list(index_file(path, self._registry, label=label, refused=refused))
            except Exception as error:  # noqa: BLE001 - any crash is counted, not lost
                _log.error("file.crashed", file=label, error=type(error).__name__)
                lines = count_lines(path)
                yield OUTCOMES, crash_outcome(label, 1, lines, lines, error, read=lines, files=1)
                continue
            checkpoint("index")
            for item in items:
                if not isinstance(item, DeclarationTask):
                    counts = item.counts
                    lines += counts.used + counts.ignored + counts.quarantined
                    yield OUTCOMES, item
                    continue
                full = batches.add(item)
                if full:
                    yield TASKS, full
        rest = batches.rest()
        if rest:
            yield TASKS, rest
        if self._staging is not None:
            mark(self._staging, "index|" + group[0][1], files=len(group), lines=lines)


class _ProcessTask(steps.Step):
    def __init__(self, pseudonym_key: bytes, staging: str | None = None, reference: bool = False) -> None:
        self._key = pseudonym_key
        self._staging = staging
        self._reference = reference

    def setup(self) -> None:
        log.configure()
        memory.tune_collector()
        registry = default_registry()
        self._registry = registry.uncertified() if self._reference else registry
        self._pseudonyms = Pseudonymiser(self._key)

    def process(self, tasks: tuple[DeclarationTask, ...]):
        done = 0                       # lines of the tasks that outcomes already yielded account for
        try:
            for outcome in iter_outcomes(list(tasks), self._registry, self._pseudonyms):
                done += outcome.counts.used + outcome.counts.ignored + outcome.counts.quarantined
                yield outcome
            if self._staging is not None:
                spans = [span.span for task in tasks for span in task.spans]
                mark(self._staging, f"task|{tasks[0].file}|{spans[0].start}", lines=done,
                     size=sum(span.end - span.start for span in spans))
        except Exception as error:  # noqa: BLE001 - any crash is counted, not lost
            for task in tasks:
                _log.error("task.crashed", file=task.file, error=type(error).__name__)
            if done:
                # A big declaration read in parts yielded some outcomes already: the rest is quarantined.
                spans = [span for task in tasks for span in task.spans]
                lines = sum(span.span.lines for span in spans) - done
                yield crash_outcome(tasks[0].file, spans[0].span.first_line, spans[-1].span.last_line, lines, error)
                return
            for task in tasks:
                spans: list[DeclarationSpan] = list(task.spans)
                lines = sum(span.span.lines for span in spans)
                yield crash_outcome(task.file, spans[0].span.first_line, spans[-1].span.last_line, lines, error)


class ParseFlows(beam.PTransform):
    """Groups of input files (``gateway.inputs``) -> two PCollections of outcomes: the files' own (envelope, envoi and
    file rules: quarantine, warnings and counts only) and the declarations' (everything else).

    They are not flattened into one: the embedded runner holds a Flatten's output in memory whole, and the
    declarations' outcomes are the run's records. Consumers take each where it is produced.

    ``reference``: every rule run on every subject, every declaration through its block tree (the object path the
    certificates and the columnar path are proven equal to, gateway.validate.certify)."""

    def __init__(self, pseudonym_key: bytes, staging: str | None = None, reference: bool = False) -> None:
        super().__init__()
        self._key = pseudonym_key
        self._staging = staging          # progress markers (gateway.progress) go under it when given
        self._reference = reference

    def expand(self, paths):
        indexed = split_tagged(paths | "IndexFiles" >> beam.ParDo(_IndexFile(self._staging)), (OUTCOMES, TASKS),
                               "Indexed")
        processed = (indexed[TASKS]
                     | "SpreadTasks" >> Spread()
                     | "ProcessDeclarations" >> beam.ParDo(_ProcessTask(self._key, self._staging, self._reference)))
        return indexed[OUTCOMES], processed


class _CheckGroup(steps.Step):
    """Cross-declaration (per declarant) or cross-flow (per person) rules over one group."""

    def __init__(self, check, register: RegisterJob | None = None) -> None:
        self._check = check
        self._register = register

    def setup(self) -> None:
        log.configure()
        memory.tune_collector()
        self._registry = default_registry()
        self._arrivals = self._register.arrival_times() if self._register is not None else None

    def process(self, element):
        key, items = element
        if self._register is None:
            outcome = self._check(key, list(items), self._registry)
        else:
            outcome = self._check(key, list(items), self._registry, slot_known=self._slot_known,
                                  arrivals=self._arrivals)
        if outcome.warnings:
            yield outcome


    def _slot_known(self, summary) -> bool:
        from gateway.versioning.register import summary_slot
        from gateway.versioning.store import slot_declared
        return slot_declared(self._register.root, self._register.committed, summary_slot(summary))


class CrossChecks(beam.PTransform):
    """Declarations' outcomes -> warning outcomes of the cross-declaration and cross-flow rules; with the
    run's register job, the cross-declaration rules also see what earlier runs put in the register."""

    def __init__(self, register: RegisterJob | None = None) -> None:
        super().__init__()
        self._register = register

    def expand(self, outcomes):
        declarants = (outcomes
                      | "Summaries" >> steps.FlatMap(lambda o: o.summaries)
                      | "ByDeclarant" >> steps.Map(lambda s: (s.declarant_id, s))
                      | "GroupDeclarant" >> beam.GroupByKey()
                      | "CheckDeclarant" >> beam.ParDo(_CheckGroup(check_declarant, self._register)))
        people = (outcomes
                  | "Allowances" >> steps.FlatMap(lambda o: o.allowances)
                  | "ByPerson" >> steps.Map(lambda m: (m.person_key, m))
                  | "GroupPerson" >> beam.GroupByKey()
                  | "CheckPerson" >> beam.ParDo(_CheckGroup(check_person_flows)))
        return declarants, people        # not flattened: see ParseFlows
