"""The stages as plain functions, called by the Beam DoFns and by the tests alike.

``index_file`` reads a file once, applies the file and envoi rules, and yields an Outcome for
what it settles itself (envelope, stray lines, rejected envois, envoi headers) plus
DeclarationTasks: small descriptors (path + byte ranges) that a worker re-reads on its own.
``process_task`` parses, validates and normalises the declarations of one task.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass, field, replace

import numpy as np
import structlog
from typing import BinaryIO, Callable, Iterator, Mapping, Sequence

from gateway.storage import open_input
from gateway.inputs import Refusal, readable_name
from gateway.parse import rubrics as R
from gateway.parse.declaration import ParsedDeclaration, flow_of, norm_for, read_declaration
from gateway.parse.together import Piece, ReadAhead
from gateway.parse.windows import WINDOW_LINES, Parts, plan_parts, read_parts
from gateway.parse.index import DeclarationSpan, EnvoiIndex, FileIndex, Span, index_envois
from gateway.normalise.mentions import allowance_mentions, has_open_contract, subrogated_months
from gateway.normalise.resources import normalise_person
from gateway.values import jjmmaaaa, month_of
from gateway.pseudonym import Pseudonymiser
from gateway.records import (AllowanceMention, DeclarationSummary, Flow, LineCounts, Origin, Outcome,
                             PersonMention, QuarantineRecord, ResourceMonth, Severity, Violation, compact_pickle,
                             fields_in_order, from_state)
from gateway.normalise.columnar import (DeclarationLines, Owners, open_contracts, paid_allowances, read_header,
                                       resource_records, subrogated_allowances)
from gateway.normalise.columnar import subrogated_months as columnar_subrogated_months
from gateway.validate.certify import DeclarationColumns, GroupColumns, certified
from gateway.validate.declared import Declared, Noted
from gateway.validate.quarantine import quarantine_records, widest
from gateway.validate.registry import RuleRegistry, Target
from gateway.validate.rules.sequences import replacements_without_original
from schemas.records import ResourceRows, resource_rows

TASK_LINES = 50_000       # declarations are grouped into tasks of about this many lines
# Certificates and the columnar path cost ~2.5 ms per declaration read alone whatever its size, and save ~5 µs a line:
# below this many lines (about ten employees) a declaration read alone goes the object path, every rule on every
# person. Read together with others (most small ones are: gateway.parse.together), it is certified and normalised
# with them, the fixed costs paid once per group (``_clean_group``).
COLUMNAR_FROM = 600
WARNING_EXAMPLES = 20     # warnings of one rule listed per declaration; the rest are counted (_overflow)
_DECLARATION_SEEN, _PERSON_SEEN = "declaration_warnings_seen", "person_warnings_seen"
_log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class DeclarationTask:
    path: str
    file: str
    envoi_number: int
    norm_version: str | None
    spans: tuple[DeclarationSpan, ...]
    envoi_rejection: tuple[Violation, ...] = ()   # the envoi's own reasons, when it is rejected
    test: bool = False        # a test envoi (S10.G00.00.005 = 01): checked and reported, never published


def display_name(path: str | bytes) -> str:
    return readable_name(os.path.basename(os.fsdecode(path)))


def count_lines(path: str | bytes) -> int:
    count, last = 0, b"\n"
    with open_input(path) as fh:
        while chunk := fh.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (1 if last != b"\n" else 0)


def index_file(path: str | bytes, registry: RuleRegistry, *, label: str | None = None, refused: str = "",
               task_lines: int = TASK_LINES) -> Iterator[Outcome | DeclarationTask]:
    """``label`` names the file in lineage and reports (default: its base name). A file ``refused``
    (``gateway.inputs.Refusal``) is quarantined whole by its file rule without being parsed: a badly named
    file's lines are counted, a link leading out of its folder is not followed (0 lines read)."""
    file = label or display_name(path)
    if refused:
        lines = count_lines(path) if refused == Refusal.NAME else 0
        size = os.path.getsize(path) if lines else 0
        yield _file(FileIndex(file, size=size, lines=lines, refused=refused,
                              orphans=[Span(0, size, 1, lines)] if lines else []), registry)
        return
    emitter = None
    with open_input(path) as fh:
        for item in index_envois(fh, file):
            if isinstance(item, EnvoiIndex):
                emitter = emitter or item.emitter_id
                yield from _envoi(path, file, item, registry, task_lines)
            else:
                yield _file(item, registry, emitter)


def _file(index: FileIndex, registry: RuleRegistry, emitter: str | None = None) -> Outcome:
    """The file's own findings, reported to the émetteur of its first envoi when one is readable."""
    violations = registry.check(Target.FILE, index)
    quarantine: list[QuarantineRecord] = []
    warnings: list[QuarantineRecord] = []
    orphan_lines = sum(span.lines for span in index.orphans)
    for violation in violations:
        if violation.severity is Severity.WARNING:
            warnings.extend(quarantine_records([violation], scope=Severity.WARNING, lines=0,
                                               first_line=violation.origin.first_line,
                                               last_line=violation.origin.last_line, declarant_id=emitter))
        elif violation.severity is Severity.FILE:
            quarantine.extend(quarantine_records([violation], scope=Severity.FILE, lines=orphan_lines,
                                                 first_line=1, last_line=index.lines, declarant_id=emitter))
        else:
            origin = violation.origin
            quarantine.extend(quarantine_records([violation], scope=Severity.LINE,
                                                 lines=origin.last_line - origin.first_line + 1,
                                                 first_line=origin.first_line, last_line=origin.last_line,
                                                 declarant_id=emitter))
    envelope = sum(span.lines for span in index.envelope)
    quarantined = sum(record.lines for record in quarantine)
    # Stray lines that no rule took out (cannot happen with the default rules) stay visible as ignored.
    counts = LineCounts(read=index.lines, ignored=envelope + orphan_lines - quarantined, quarantined=quarantined)
    return Outcome(quarantine=tuple(quarantine), warnings=tuple(warnings), counts=counts, files=1)


def _envoi(path: str, file: str, envoi: EnvoiIndex, registry: RuleRegistry, task_lines: int) -> Iterator[Outcome | DeclarationTask]:
    violations = registry.check(Target.ENVOI, file, envoi)
    emitter = envoi.emitter_id
    warnings = tuple(record for v in violations if v.severity is Severity.WARNING
                     for record in quarantine_records([v], scope=Severity.WARNING, lines=0, first_line=0, last_line=0,
                                                      declarant_id=emitter))
    rejecting = [v for v in violations if v.severity.rejects]
    header = envoi.header_and_footer_lines
    test = envoi.values.get(R.TEST_ENVOI) == "01"
    if rejecting:
        # The envoi's header and footer go now; its declarations are still read and checked, so
        # that the declarant learns every defect at once, then quarantined with the envoi.
        records = quarantine_records(rejecting, scope=Severity.ENVOI, lines=header,
                                     first_line=envoi.first_line, last_line=envoi.last_line, declarant_id=emitter)
        yield Outcome(quarantine=records, warnings=warnings, counts=LineCounts(quarantined=header))
    else:
        yield Outcome(warnings=warnings, counts=LineCounts(ignored=header) if test else LineCounts(used=header))
    batch: list[DeclarationSpan] = []
    size = 0
    for span in envoi.declarations:
        batch.append(span)
        size += span.span.lines
        if size >= task_lines:
            yield DeclarationTask(path, file, envoi.number, envoi.norm_version, tuple(batch), tuple(rejecting), test)
            batch, size = [], 0
    if batch:
        yield DeclarationTask(path, file, envoi.number, envoi.norm_version, tuple(batch), tuple(rejecting), test)


class TaskBatches:
    """A stream of declaration tasks cut into batches of about ``task_lines`` lines: what a worker processes at
    once (one batch check per batch: ``iter_outcomes``)."""

    def __init__(self, task_lines: int = TASK_LINES) -> None:
        self._task_lines = task_lines
        self._batch: list[DeclarationTask] = []
        self._size = 0

    def add(self, task: DeclarationTask) -> tuple[DeclarationTask, ...] | None:
        """The batch ``task`` completes, if it does."""
        self._batch.append(task)
        self._size += sum(span.span.lines for span in task.spans)
        if self._size < self._task_lines:
            return None
        full, self._batch, self._size = tuple(self._batch), [], 0
        return full

    def rest(self) -> tuple[DeclarationTask, ...]:
        """The batch under way (empty when none)."""
        return tuple(self._batch)


def process_task(task: DeclarationTask, registry: RuleRegistry, pseudonyms: Pseudonymiser) -> Outcome:
    return process_tasks([task], registry, pseudonyms)


def process_tasks(tasks: list[DeclarationTask], registry: RuleRegistry, pseudonyms: Pseudonymiser, *,
                  window_lines: int = WINDOW_LINES) -> Outcome:
    """Everything :func:`iter_outcomes` yields for ``tasks``, as one outcome."""
    return merge_all(list(iter_outcomes(tasks, registry, pseudonyms, window_lines=window_lines)))


def iter_outcomes(tasks: list[DeclarationTask], registry: RuleRegistry, pseudonyms: Pseudonymiser, *,
                  window_lines: int = WINDOW_LINES) -> Iterator[Outcome]:
    """Declarations of one or more tasks (possibly of several small files), then the batch rules once
    over all their records: a pandera call has a fixed cost, so batches should not be tiny. A declaration
    of more than ``window_lines`` lines is read in parts (:mod:`gateway.parse.windows`) and yields an
    outcome per part, so that memory does not grow with the size of a declaration."""
    outcomes: list[Outcome] = []
    accepted: list[_AcceptedPerson] = []
    # declarations read a few together (gateway.parse.together); one the read-ahead leaves is read alone here
    ahead = ReadAhead([Piece(task.path, task.file, task.envoi_number, task.norm_version, span)
                       for task in tasks for span in task.spans], window_lines=window_lines)
    index = -1
    for task in tasks:
        keep = _withheld if task.test else _as_is
        if task.test and outcomes:                     # a test envoi's declarations are checked on their own
            yield _check_batch(merge_all(outcomes), accepted, registry)
            outcomes, accepted = [], []
        with _Input(task.path) as source:
            for span in task.spans:
                index += 1
                decl = ahead.take(index)
                parts = None if decl is not None else \
                    plan_parts(source.fh, span, norm_for(flow_of(span.nature), task.norm_version), window_lines)
                if parts is not None:
                    if outcomes:                       # what came before first: outcomes keep the file's order
                        yield keep(_check_batch(merge_all(outcomes), accepted, registry))
                        outcomes, accepted = [], []
                    for outcome, people in _declaration_in_parts(source.fh, task, span, parts, registry, pseudonyms):
                        yield keep(_check_batch(outcome, people, registry))
                    continue
                if decl is None:
                    decl = read_declaration(source.fh, task.file, span, task.envoi_number, task.norm_version)
                outcome, people = _process_declaration(decl, registry, pseudonyms, task.envoi_rejection)
                decl.release()
                outcomes.append(outcome)
                accepted.extend(people)
        if task.test and outcomes:
            yield keep(_check_batch(merge_all(outcomes), accepted, registry))
            outcomes, accepted = [], []
    if outcomes:
        yield _check_batch(merge_all(outcomes), accepted, registry)


class _Input:
    """A task's file, opened the first time it is read from (its declarations may all have been read ahead)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._fh: BinaryIO | None = None

    @property
    def fh(self) -> BinaryIO:
        if self._fh is None:
            self._fh = open_input(self._path)
        return self._fh

    def __enter__(self) -> "_Input":
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            self._fh.close()


def _as_is(outcome: Outcome) -> Outcome:
    return outcome


def _withheld(outcome: Outcome) -> Outcome:
    """A test envoi's outcome: its findings are reported, its lines counted, but nothing it carries is published
    or reaches the register (no resources, no declaration summaries, no allowances): the lines the normaliser
    would have used are counted as ignored."""
    counts = outcome.counts
    return replace(outcome, resources=(), summaries=(), allowances=(),
                   counts=LineCounts(read=counts.read, used=0, ignored=counts.ignored + counts.used,
                                     quarantined=counts.quarantined))


def merge_all(outcomes: list[Outcome]) -> Outcome:
    """Many outcomes into one, in linear time."""
    return Outcome.combine(outcomes)


def _check_batch(total: Outcome, accepted: list[_AcceptedPerson], registry: RuleRegistry) -> Outcome:
    """Batch rules (pandera) over the task's records; a failing record takes its person block out."""
    violations = registry.check(Target.BATCH, total.resources)
    if not violations:
        return total
    failing: dict[_AcceptedPerson, list[Violation]] = {}
    for violation in violations:
        origin = violation.origin
        person = next(p for p in accepted if p.file == origin.file and p.first_line <= origin.first_line <= p.last_line)
        failing.setdefault(person, []).append(violation)
    quarantine = list(total.quarantine)
    counts = total.counts
    for person, found in failing.items():
        lines = person.used + person.ignored
        quarantine.extend(quarantine_records(found, scope=Severity.PERSON, lines=lines, first_line=person.first_line,
                                             last_line=person.last_line, declarant_id=person.declarant_id,
                                             declaration_id=person.declaration_id, person_key=person.person_key))
        counts = LineCounts(counts.read, counts.used - person.used, counts.ignored - person.ignored,
                            counts.quarantined + lines)
    out = {(p.file, p.first_line) for p in failing}
    kept = tuple(r for r in total.resources if not any(
        (r.file, p.first_line) in out and p.first_line <= r.first_line <= p.last_line for p in failing))
    _log.warning("batch.schema_failed", rule_id="DRM-SCH-001", people=len(failing), records=len(violations))
    return replace(total, resources=kept, quarantine=tuple(quarantine), counts=counts)


@compact_pickle
@dataclass(frozen=True, slots=True)
class _AcceptedPerson:
    """An accepted person block's records and line accounting, in case a batch check takes it out."""

    file: str
    first_line: int
    last_line: int
    used: int
    ignored: int
    person_key: str
    declarant_id: str | None
    declaration_id: str


def process_declaration(decl: ParsedDeclaration, registry: RuleRegistry, pseudonyms: Pseudonymiser,
                        envoi_rejection: tuple[Violation, ...] = ()) -> Outcome:
    return _process_declaration(decl, registry, pseudonyms, envoi_rejection)[0]


def _process_declaration(decl: ParsedDeclaration, registry: RuleRegistry, pseudonyms: Pseudonymiser,
                         envoi_rejection: tuple[Violation, ...] = ()) -> tuple[Outcome, list[_AcceptedPerson]]:
    skip = _certified(decl, registry)
    # every rule proven silent: the declaration and all its people are accepted, read from the columns
    clean = not envoi_rejection and _clean(decl, registry)
    violations = [] if clean else _in_line_order(registry.check(
        Target.DECLARATION, decl, flow=decl.flow, version=decl.norm_version, skip=skip), registry)
    if envoi_rejection or any(v.severity.rejects for v in violations):
        return _rejected(decl, violations, _person_rejections(decl, registry, skip), envoi_rejection), []
    found = _clean_people(decl, registry, pseudonyms) if clean \
        else _people(decl, registry, pseudonyms, since=None, skip=skip)
    summary = _summary(decl, found.people, _subrogated(found.allowances, {}))
    outcome = found.outcome(_warnings(decl, violations), summary, declarations=1)
    return replace(outcome, warnings=outcome.warnings + tuple(_overflow(decl, _DECLARATION_SEEN, _PERSON_SEEN))), \
        found.accepted


def _declaration_in_parts(fh: BinaryIO, task: DeclarationTask, span: DeclarationSpan, parts: Parts,
                          registry: RuleRegistry, pseudonyms: Pseudonymiser
                          ) -> Iterator[tuple[Outcome, list[_AcceptedPerson]]]:
    """A declaration read in parts, an outcome per part; put together they are what the declaration read
    whole gives. The lines the parts share (the head) are counted with the first part; findings on them are
    taken from the last part, the one that sees every block of the head's instances (a block out of place
    after the people stops the cuts, so it is in the last part).

    Each part is parsed once: its declaration rules, then its people. A later part can still reject the
    whole declaration, so the parts' people wait in a temporary file (memory holds one part at a time)
    until the last part is checked. A person that makes the normalisation fail in a declaration that turns
    out rejected does not matter (read whole, it would not have been normalised): the error is raised only
    if the declaration is accepted."""
    violations: list[Violation] = []
    rejections: list[Violation] = []           # person findings, reported if the declaration is rejected
    people: list[PersonMention] = []
    subrogated: dict[str, int] = {}
    failure: Exception | None = None
    noted = Noted()                            # what each finding's report needs, from the part it was found in
    last = len(parts.parts) - 1
    with tempfile.TemporaryFile(prefix="drm-parts-") as waiting:
        for index, (part, decl) in enumerate(read_parts(fh, task.file, span, task.envoi_number,
                                                        task.norm_version, parts)):
            found = [v for v in registry.check(Target.DECLARATION, decl, flow=decl.flow, version=decl.norm_version)
                     if index == last or v.origin.first_line >= part.first_line]
            noted.note(decl, found, warnings_per_rule=WARNING_EXAMPLES)
            violations.extend(found)
            if failure is None and not task.envoi_rejection and not any(v.severity.rejects for v in violations):
                try:
                    result = _people(decl, registry, pseudonyms, since=part.first_line if index else None)
                except Exception as error:  # noqa: BLE001 - raised below unless the declaration is rejected
                    failure = error
                else:
                    noted.note(decl, result.rejections, warnings_per_rule=WARNING_EXAMPLES)
                    rejections.extend(result.rejections)
                    people.extend(result.people)
                    _subrogated(result.allowances, subrogated)
                    pickle.dump(result, waiting, protocol=pickle.HIGHEST_PROTOCOL)
                    decl.release()
                    continue
            found = _person_rejections(decl, registry)
            noted.note(decl, found, warnings_per_rule=WARNING_EXAMPLES)
            rejections.extend(found)
            decl.release()
        violations = _in_line_order(violations, registry)
        if task.envoi_rejection or any(v.severity.rejects for v in violations):
            yield _rejected(decl, violations, rejections, task.envoi_rejection, noted.over(decl)), []
            return
        if failure is not None:
            raise failure
        waiting.seek(0)
        for index in range(len(parts.parts)):
            result = pickle.load(waiting)
            summary = _summary(decl, people, subrogated) if index == last else None
            outcome = result.outcome(_warnings(decl, violations, noted.over(decl)) if index == 0 else [], summary,
                                     declarations=int(index == last))
            if index == last:
                outcome = replace(outcome, warnings=outcome.warnings + tuple(
                    _overflow(decl, _DECLARATION_SEEN, _PERSON_SEEN)))
            yield outcome, result.accepted


def _in_line_order(violations: list[Violation], registry: RuleRegistry) -> list[Violation]:
    """A declaration's own findings rule by rule, each rule's in the order of the lines they name: the order
    a declarant reads them in, and the same whether the declaration is read whole or in parts (a rule
    visiting the block tree would otherwise report a late block of the head's before earlier people's)."""
    rank = {rule.id: i for i, rule in enumerate(registry.for_target(Target.DECLARATION))}
    return sorted(violations, key=lambda v: (rank[v.rule_id], v.origin.first_line))


def _warnings(decl: ParsedDeclaration, violations: list[Violation], noted: Noted | None = None
              ) -> list[QuarantineRecord]:
    return [r for v in violations if v.severity is Severity.WARNING and _listed(decl, _DECLARATION_SEEN, v)
            for r in quarantine_records([v], scope=Severity.WARNING, lines=0, first_line=0, last_line=0,
                                        declarant_id=decl.attributed_declarant, declaration_id=decl.declaration_id,
                                        declared=noted or Declared.of(decl))]


def _listed(decl: ParsedDeclaration, key: str, violation: Violation) -> bool:
    """Whether a warning is listed: the first WARNING_EXAMPLES of each rule in a declaration are; the others
    are only counted (``_overflow`` says how many), so that one declaration of 200,000 people missing the same
    block gives 20 examples and a count, not 200,000 records. The count is the whole declaration's, whether
    it is read whole or in parts (``decl.shared``)."""
    seen = decl.shared.setdefault(key, {})
    count, example = seen.get(violation.rule_id, (0, violation))
    seen[violation.rule_id] = (count + 1, example)
    return count < WARNING_EXAMPLES


def _overflow(decl: ParsedDeclaration, *keys: str) -> list[QuarantineRecord]:
    """One warning per rule that had more findings in the declaration than are listed: how many more."""
    records = []
    for key in keys:
        for rule_id, (count, example) in sorted(decl.shared.get(key, {}).items()):
            if count <= WARNING_EXAMPLES:
                continue
            more = count - WARNING_EXAMPLES
            summary = Violation(
                rule_id, Severity.WARNING, Origin(decl.file, decl.first_line, decl.last_line), "",
                f"{more} more findings of this rule in this declaration (the first {WARNING_EXAMPLES} are listed)",
                f"{example.explain} Ce constat revient {_french_count(count)} fois dans cette déclaration : seuls les "
                f"{WARNING_EXAMPLES} premiers sont détaillés.", example.family)
            records.extend(quarantine_records([summary], scope=Severity.WARNING, lines=0, first_line=0, last_line=0,
                                              declarant_id=decl.attributed_declarant,
                                              declaration_id=decl.declaration_id, declared=Declared.of(decl)))
    return records


def _french_count(count: int) -> str:
    return f"{count:,}".replace(",", "\u202f")


def _person_rejections(decl: ParsedDeclaration, registry: RuleRegistry,
                       skip: frozenset[str] = frozenset()) -> list[Violation]:
    """Person-level findings of a rejected declaration: reported too (no lines of their own), so that a
    declarant fixes everything at once. The rules in ``skip`` were proven to find nothing in any person (a
    certificate, gateway.validate.certify): when that is all of them, no person is walked."""
    if skip.issuperset(rule.id for rule in registry.for_target(Target.PERSON, decl.flow, decl.norm_version)):
        return []
    return [v for person in decl.instances(R.INDIVIDUAL)
            for v in registry.check(Target.PERSON, decl, person, flow=decl.flow, version=decl.norm_version,
                                    skip=skip)
            if v.severity.rejects]


def _rejected(decl: ParsedDeclaration, violations: list[Violation], person_rejections: list[Violation],
              envoi_rejection: tuple[Violation, ...], noted: Noted | None = None) -> Outcome:
    rejecting = [v for v in violations if v.severity.rejects] + person_rejections
    reasons = rejecting or [Violation(v.rule_id, v.severity, v.origin, v.rubric,
                                      "declaration taken out with its envoi: " + v.detail, v.explain, v.family)
                            for v in envoi_rejection[:1]]
    records = quarantine_records(reasons, scope=Severity.ENVOI if envoi_rejection else Severity.DECLARATION,
                                 lines=decl.line_count, first_line=decl.first_line, last_line=decl.last_line,
                                 declarant_id=decl.attributed_declarant, declaration_id=decl.declaration_id,
                                 declared=noted or Declared.of(decl))
    warnings = _warnings(decl, violations, noted) + _overflow(decl, _DECLARATION_SEEN)
    return Outcome(quarantine=records, warnings=tuple(warnings), counts=LineCounts(quarantined=decl.line_count),
                   declarations=1)


@dataclass
class _People:
    """The people of a declaration (or of one part of it) and the lines of the blocks around them."""

    resources: list[ResourceMonth] = field(default_factory=list)
    quarantine: list[QuarantineRecord] = field(default_factory=list)
    warnings: list[QuarantineRecord] = field(default_factory=list)
    people: list[PersonMention] = field(default_factory=list)
    allowances: list[AllowanceMention] = field(default_factory=list)
    accepted: list[_AcceptedPerson] = field(default_factory=list)
    rejections: list[Violation] = field(default_factory=list)     # findings that took a person out
    used: int = 0
    ignored: int = 0
    quarantined: int = 0

    def outcome(self, warnings: list[QuarantineRecord], summary: DeclarationSummary | None,
                declarations: int) -> Outcome:
        return Outcome(_as_resources(self.resources), tuple(self.quarantine), tuple(warnings + self.warnings),
                       LineCounts(used=self.used, ignored=self.ignored, quarantined=self.quarantined),
                       declarations=declarations, summaries=(summary,) if summary is not None else (),
                       allowances=tuple(self.allowances))


def _as_resources(items: list) -> Sequence[ResourceMonth]:
    """What ``_add_records`` gathered, as an outcome holds it: a tuple of records, or rows when some are rows."""
    if not any(isinstance(item, ResourceRows) for item in items):
        return tuple(items)
    parts: list = []
    for item in items:
        if isinstance(item, ResourceRows):
            parts.append(item)
        elif parts and isinstance(parts[-1], list):
            parts[-1].append(item)
        else:
            parts.append([item])
    return resource_rows([part if isinstance(part, ResourceRows) else tuple(part) for part in parts])


def _count_outside_people(decl: ParsedDeclaration, out: "_People", since: int | None, carries_resources: bool) -> None:
    """The lines of the blocks outside people, from line ``since`` on (None: all of them): used or ignored."""
    for root in decl.roots:
        for instance in _outside_people(root):
            if since is not None and instance.first_line < since:
                continue
            if carries_resources and instance.block in R.CONSUMED_BLOCKS:
                out.used += instance.line_count
            else:
                out.ignored += instance.line_count


def _accept(decl: ParsedDeclaration, person, person_key: str, lines: int, out: "_People",
            carries_resources: bool) -> None:
    """A person who passed the rules: counted, and normalised into records when the nature carries resources."""
    if not carries_resources:
        _accepted(decl, person, person_key, lines, 0, out)
        return
    used = sum(instance.line_count for instance in person.walk() if instance.block in R.CONSUMED_BLOCKS)
    records = normalise_person(decl, person, person_key)
    _accepted(decl, person, person_key, lines, used, out, records, has_open_contract(decl, person),
              subrogated_months(person), allowance_mentions(decl, person, person_key, records))


def _add_records(resources: list, records: Sequence[ResourceMonth]) -> None:
    """A person's records after those of ``resources``: records (objects) one by one, rows (columns: ``ResourceRows``)
    as one item, joined to the rows before them when they follow them in the same table (a declaration's people
    normalised together give one run of rows)."""
    if not isinstance(records, ResourceRows):
        resources.extend(records)
    elif resources and isinstance(resources[-1], ResourceRows) and records.follows(resources[-1]):
        resources[-1] = ResourceRows(records.base, resources[-1].start, records.stop)
    else:
        resources.append(records)


def _accepted(decl: ParsedDeclaration, person, person_key: str, lines: int, used: int, out: "_People",
              records: list[ResourceMonth] | None = None, open_contract: bool = False, subrogated: str = "",
              allowances: list[AllowanceMention] = ()) -> None:
    """An accepted person (a ``BlockInstance``, or a ``columnar.Instance``) into ``out``: its lines, used or
    ignored, and when its declaration carries resources (``records`` not None) its records and mentions."""
    out.used += used
    out.ignored += lines - used
    first = person.first_line
    # built from their fields' values (gateway.records.from_state): one of each per accepted person
    out.accepted.append(from_state(_AcceptedPerson, (decl.file, first, person.subtree_last_line, used, lines - used,
                                                     person_key, decl.declarant_id, decl.declaration_id)))
    if records is not None:
        _add_records(out.resources, records)
        out.people.append(from_state(PersonMention, (person_key, open_contract, first, 0, subrogated)))
        out.allowances.extend(allowances)


fields_in_order(_AcceptedPerson, "file", "first_line", "last_line", "used", "ignored", "person_key", "declarant_id",
                "declaration_id")
fields_in_order(PersonMention, "person_key", "open_contract", "first_line", "subrogated_allowance_cents",
                "subrogated_months")


def _rule_ids(decl: ParsedDeclaration, registry: RuleRegistry) -> list[str]:
    """The declaration and person rules that apply to ``decl``."""
    return [rule.id for target in (Target.DECLARATION, Target.PERSON)
            for rule in registry.for_target(target, decl.flow, decl.norm_version)]


def _certified(decl: ParsedDeclaration, registry: RuleRegistry) -> frozenset[str]:
    """The declaration and person rules a certificate proves silent in ``decl`` (gateway.validate.certify); none for
    a declaration of fewer than COLUMNAR_FROM lines read alone, which the object path takes for less. A small
    declaration read together with others (``gateway.parse.together``) is certified with them: the certificates that
    hold for the group are given to each of its declarations at once (``GroupColumns``). Made once per declaration
    and registry (the group's clean path asks for its members' before their turn: :func:`_clean_group`)."""
    if not registry.certificates or decl.line_count < COLUMNAR_FROM and GroupColumns.of(decl) is None:
        return frozenset()
    found = decl.cache.get("certified")
    if found is None or found[0] is not registry:
        found = decl.cache["certified"] = (registry, certified(decl, _rule_ids(decl, registry)))
    return found[1]


def _clean(decl: ParsedDeclaration, registry: RuleRegistry) -> bool:
    """Every declaration and person rule of ``decl`` proven silent."""
    skip = _certified(decl, registry)
    return bool(skip) and skip.issuperset(_rule_ids(decl, registry))


def _clean_people(decl: ParsedDeclaration, registry: RuleRegistry, pseudonyms: Pseudonymiser) -> _People:
    """What :func:`_people` gives for a declaration whose every rule is certified silent (all its people accepted),
    read from its columns without building its block tree (gateway.normalise.columnar): with the other clean
    declarations read together with it, in one pass over their arrays (:func:`_clean_group`), or alone."""
    group = _clean_group(decl, registry, pseudonyms)
    if group is not None:
        return group[decl.together[1]]
    view = DeclarationColumns.of(decl)
    read_header(view)
    carries_resources = decl.nature in R.RESOURCE_NATURES
    lines = DeclarationLines(view, carries_resources)
    out = _People(used=lines.outside_used, ignored=lines.outside_ignored)
    _clean_members(lines, [(decl, lines.people(), out, carries_resources)], pseudonyms)
    return out


def _clean_group(decl: ParsedDeclaration, registry: RuleRegistry, pseudonyms: Pseudonymiser
                 ) -> list[_People | None] | None:
    """For each declaration read together with ``decl`` (by rank), what :func:`_clean_people` gives it when it is clean
    (None for the others), made in one pass over the group's arrays at the first one's turn (memoised on the
    group); None when ``decl`` was not read with another clean one."""
    group = GroupColumns.of(decl)
    if group is None:
        return None
    together = decl.together[0]
    found = together.cache.get("clean_people")
    if found is None or found[0] is not registry or found[1] is not pseudonyms:
        # those already done (released: their turn has passed) are left out, and not certified again
        members = [member if member is not None and member.together is not None and _clean(member, registry) else None
                   for member in together.members]
        flows = {member.flow for member in members if member is not None}
        people = _people_of_group(group, together, members, pseudonyms) if len(flows) == 1 and \
            sum(member is not None for member in members) > 1 else None
        found = together.cache["clean_people"] = (registry, pseudonyms, people)
    return found[2]


def _people_of_group(group: GroupColumns, together, members: list[ParsedDeclaration | None],
                     pseudonyms: Pseudonymiser) -> list[_People | None]:
    """The clean declarations ``members`` (by rank among those read together; None: not clean) accepted with all their
    people, counted and normalised over the group's arrays."""
    for member in members:
        if member is not None:
            read_header(DeclarationColumns.of(member))       # each member's header values, found for all at once
    carries = [member is not None and member.nature in R.RESOURCE_NATURES for member in members]
    owners = Owners(members, np.asarray(group.members_of(np.arange(len(group.kinds))), dtype=np.int64),
                    together.line_numbers)
    lines = DeclarationLines(group, carries, owners)
    by_owner = lines.people_by_owner()
    out: list[_People | None] = [None] * len(members)
    clean = []
    for rank, member in enumerate(members):
        if member is not None:
            used, ignored = lines.outside(rank)
            out[rank] = _People(used=used, ignored=ignored)
            clean.append((member, by_owner.get(rank, []), out[rank], carries[rank]))
    _clean_members(lines, clean, pseudonyms)
    return out


def _clean_members(lines: DeclarationLines, members: list[tuple], pseudonyms: Pseudonymiser) -> None:
    """Every person of each clean declaration (``(decl, its people, its _People, whether it carries resources)``)
    accepted into its ``_People``; those of declarations carrying resources normalised over ``lines``'s arrays at
    once."""
    normalised: list[tuple] = []                   # (decl, person, key, out) normalised together after
    nirs, ntts = lines.view.by_instance(R.NIR), lines.view.by_instance(R.NTT)     # what ``Instance.get`` reads
    for decl, people, out, carries_resources in members:
        siren = decl.value(R.SIREN)
        for person in people:
            key = pseudonyms.person_key(nirs.get(person.index), ntts.get(person.index), siren)
            if carries_resources:
                normalised.append((decl, person, key, out))
            else:
                _accepted(decl, person, key, lines.person_lines(person)[0], 0, out)
    if normalised:
        found = _normalised(lines, [person for _, person, _, _ in normalised], [key for _, _, key, _ in normalised])
        for (decl, person, key, out), items in zip(normalised, found):
            _accepted(decl, person, key, *lines.person_lines(person), out, *items)


def _normalised(lines: DeclarationLines, people: list, keys: list[str]
                ) -> Iterator[tuple[list[ResourceMonth], bool, str, list[AllowanceMention]]]:
    """For each of ``people`` (accepted person handles of declarations carrying resources, ``columnar.Instance``),
    what the object path's :func:`_accept` gives: records, open contract, subrogated months, allowances, read over
    the arrays of their declarations (``lines.owners``: one, or those read together; gateway.normalise.columnar;
    person by person when an amount does not fit them)."""
    view, owners = lines.view, lines.owners
    records = resource_records(lines, people, keys)
    running, subrogated = open_contracts(view, owners), columnar_subrogated_months(view)
    if owners.flow is Flow.DSN:
        allowances = subrogated_allowances(view, owners, {person.index: key for person, key in zip(people, keys)})
    else:
        allowances = paid_allowances(records) if records is not None else None
    ranks = owners.of_instance[[person.index for person in people]].tolist()
    for person, key, rank in zip(people, keys, ranks):
        decl = owners.decls[rank]
        found = normalise_person(decl, person, key) if records is None else records.of(person.index)
        yield (found, bool(running[person.index]), subrogated.get(person.index, ""),
               allowance_mentions(decl, person, key, found) if allowances is None
               else allowances.get(person.index, []))


def _columnar_accept(decl: ParsedDeclaration, registry: RuleRegistry, carries_resources: bool
                     ) -> DeclarationColumns | None:
    """The declaration's columns when the people the rules accept in it are to be normalised over its arrays (as
    a clean declaration's are: :func:`_normalised`) rather than person by person: a declaration carrying
    resources, read whole, of at least COLUMNAR_FROM lines, checked with certificates (the reference path,
    ``RuleRegistry.uncertified``, normalises person by person). The rules have taken out every person with a value
    that is not of its format, amount or date (DRM-FMT-002, AMT-006, PER-005 reject the person); what the
    accepted people hold, the arrays read as the objects do."""
    if not carries_resources or not registry.certificates or decl.line_count < COLUMNAR_FROM:
        return None
    return DeclarationColumns.of(decl)


def _people(decl: ParsedDeclaration, registry: RuleRegistry, pseudonyms: Pseudonymiser, since: int | None,
            skip: frozenset[str] = frozenset()) -> _People:
    """Checks and records of every person of ``decl`` but the rules in ``skip`` (proven silent); the lines of the
    blocks outside people are counted from line ``since`` on (None: all of them)."""
    declarant, declaration_id = decl.attributed_declarant, decl.declaration_id
    carries_resources = decl.nature in R.RESOURCE_NATURES
    out = _People()
    _count_outside_people(decl, out, since, carries_resources)
    # every person rule proven to find nothing in this declaration: no call per person
    silent = skip.issuperset(rule.id for rule in registry.for_target(Target.PERSON, decl.flow, decl.norm_version))
    columnar = _columnar_accept(decl, registry, carries_resources)
    accepted: list[tuple] = []             # (person, key, lines) normalised over the arrays after the loop
    for person in decl.instances(R.INDIVIDUAL):
        lines = sum(instance.line_count for instance in person.walk())
        person_key = pseudonyms.person_key(person.get(R.NIR), person.get(R.NTT), decl.value(R.SIREN))
        found = [] if silent else registry.check(Target.PERSON, decl, person, flow=decl.flow,
                                                 version=decl.norm_version, skip=skip)
        out.warnings.extend(r for v in found if v.severity is Severity.WARNING and _listed(decl, _PERSON_SEEN, v)
                            for r in quarantine_records([v], scope=Severity.WARNING, lines=0, first_line=0,
                                                        last_line=0, declarant_id=declarant,
                                                        declaration_id=declaration_id, person_key=person_key,
                                                        declared=Declared.of(decl)))
        scope = widest(found)
        if scope is None and columnar is not None:
            accepted.append((person, person_key, lines))
            continue
        if scope is None:
            _accept(decl, person, person_key, lines, out, carries_resources)
            continue
        rejecting = [v for v in found if v.severity.rejects]
        out.rejections.extend(rejecting)
        out.quarantine.extend(quarantine_records(
            rejecting, scope=scope, lines=lines,
            first_line=person.first_line, last_line=person.subtree_last_line, declarant_id=declarant,
            declaration_id=declaration_id, person_key=person_key, declared=Declared.of(decl)))
        out.quarantined += lines
    if accepted:
        _accept_over_arrays(decl, columnar, accepted, out)
    return out


def _accept_over_arrays(decl: ParsedDeclaration, view: DeclarationColumns, accepted: list[tuple],
                        out: _People) -> None:
    """The people the rules accepted (``(person, key, lines)``, in document order) into ``out``, as :func:`_accept`
    does, their records and mentions read over the declaration's arrays (:func:`_normalised`). Their lines are
    counted on the block tree, as :func:`_people` counts the others: a declaration that is not clean may hold
    broken lines, which an instance's lines include and its tokens do not."""
    lines = DeclarationLines(view, True)
    handles = {handle.first_line: handle for handle in lines.people()}
    people = [handles[person.first_line] for person, _, _ in accepted]
    keys = [key for _, key, _ in accepted]
    for (person, key, total), normalised in zip(accepted, _normalised(lines, people, keys)):
        used = sum(instance.line_count for instance in person.walk() if instance.block in R.CONSUMED_BLOCKS)
        _accepted(decl, person, key, total, used, out, *normalised)


def _subrogated(allowances: list[AllowanceMention], total: dict[str, int]) -> dict[str, int]:
    """Daily allowances an employer paid on behalf of social security (DSN), summed by person into ``total``."""
    for allowance in allowances:
        if allowance.flow is Flow.DSN:
            total[allowance.person_key] = total.get(allowance.person_key, 0) + allowance.amount_cents
    return total


def _summary(decl: ParsedDeclaration, people: list[PersonMention], subrogated: dict[str, int]
             ) -> DeclarationSummary | None:
    if decl.nature not in R.RESOURCE_NATURES or not decl.declarant_id:
        return None
    return DeclarationSummary(
        declarant_id=decl.declarant_id, flow=decl.flow, nature=decl.nature, type=decl.value(R.TYPE) or "",
        main_month=_month(decl.value(R.MAIN_MONTH)), fraction=decl.value(R.FRACTION) or "",
        rank=decl.value(R.RANK) or "", digest=decl.digest, declaration_id=decl.declaration_id, file=decl.file,
        first_line=decl.first_line, last_line=decl.last_line,
        people=tuple(replace(p, subrogated_allowance_cents=subrogated[p.person_key]) if p.person_key in subrogated
                     else p for p in people))        # no second copy of every person (200,000 in a big declaration)


def _month(main: str | None) -> str | None:
    day = jjmmaaaa(main)
    return month_of(day) if day else None


def _outside_people(root):
    """Every instance under ``root`` that is not a person block nor under one (a person's subtree is not walked)."""
    stack = [root]
    while stack:
        instance = stack.pop()
        if instance.block != R.INDIVIDUAL:
            yield instance
            stack.extend(instance.children)


def process_file(path: str, registry: RuleRegistry, pseudonyms: Pseudonymiser, *, label: str | None = None) -> Outcome:
    """Both passes over one file, in process: for tests and small tools."""
    return merge_all([process_task(item, registry, pseudonyms) if isinstance(item, DeclarationTask) else item
                      for item in index_file(path, registry, label=label)])


def merge(a: Outcome, b: Outcome) -> Outcome:
    return a + b


def check_declarant(declarant_id: str, summaries, registry: RuleRegistry,
                    slot_known: Callable[[DeclarationSummary], bool] | None = None,
                    arrivals: Mapping[str, str] | None = None) -> Outcome:
    """Cross-declaration rules over every declaration of one declarant in the run. ``slot_known`` says whether
    the register already holds a declaration of a summary's slot (earlier runs): an annule-et-remplace whose
    original arrived before is not "without original". Asked only about those with no original in the run.
    ``arrivals`` (file label -> arrival time) dates each declaration, for the due-date rules."""
    if arrivals:
        summaries = [replace(s, arrived=arrivals.get(s.file, "")) for s in summaries]
    if slot_known is not None:
        known = {id(s) for s in replacements_without_original(summaries) if slot_known(s)}
        summaries = [replace(s, slot_known=True) if id(s) in known else s for s in summaries]
    ordered = sorted(summaries, key=lambda s: (s.main_month or "", s.file, s.first_line))
    violations = registry.check(Target.DECLARANT, declarant_id, ordered)
    by_file = {(s.file, s.first_line): s for s in ordered}
    records = []
    for violation in violations:
        summary = by_file.get((violation.origin.file, violation.origin.first_line))
        records.extend(quarantine_records([violation], scope=Severity.WARNING, lines=0, first_line=0, last_line=0,
                                          declarant_id=declarant_id,
                                          declaration_id=summary.declaration_id if summary else None))
    return Outcome(warnings=tuple(records))


def check_person_flows(person_key: str, mentions, registry: RuleRegistry) -> Outcome:
    """The cross-flow rule over one person's daily allowances."""
    ordered = sorted(mentions, key=lambda m: (m.month, m.flow.value, m.file, m.line))
    violations = registry.check(Target.CROSS_FLOW, person_key, ordered)
    records = []
    for violation in violations:
        mention = next(m for m in ordered if (m.file, m.line) == (violation.origin.file, violation.origin.first_line))
        records.extend(quarantine_records([violation], scope=Severity.WARNING, lines=0, first_line=0, last_line=0,
                                          declarant_id=mention.declarant_id, declaration_id=mention.declaration_id,
                                          person_key=person_key))
    return Outcome(warnings=tuple(records))


def process_files(paths: list[str], registry: RuleRegistry, pseudonyms: Pseudonymiser, *,
                  labels: list[str] | None = None) -> Outcome:
    """A whole run in process (tests and small tools): per-file stages, then the cross checks. ``labels`` name
    the files in lineage, as a run names them (default: their base names)."""
    labels = labels or [display_name(path) for path in paths]
    total = merge_all([process_file(path, registry, pseudonyms, label=label) for path, label in zip(paths, labels)])
    return merge(total, cross_checks(total, registry))


def cross_checks(outcome: Outcome, registry: RuleRegistry) -> Outcome:
    declarants: dict[str, list] = {}
    for summary in outcome.summaries:
        declarants.setdefault(summary.declarant_id, []).append(summary)
    people: dict[str, list] = {}
    for mention in outcome.allowances:
        people.setdefault(mention.person_key, []).append(mention)
    return merge_all([check_declarant(d, declarants[d], registry) for d in sorted(declarants)]
                     + [check_person_flows(p, people[p], registry) for p in sorted(people)])
