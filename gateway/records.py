"""Typed records shared by the stages.

Records are frozen, slotted, module-level dataclasses so that they pickle across Beam workers.
Money is always integer cents; months are ``YYYY-MM`` strings; dates are ``datetime.date``.
"""
from __future__ import annotations

import dataclasses
import enum
import operator
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Sequence

from gateway.months import Instant, Month


def compact_pickle(cls):
    """Pickle a frozen slotted dataclass as the tuple of its field values. The stock state methods of such a
    class call ``dataclasses.fields()`` for every object; records cross between Beam workers and are parked
    on disk by the thousand, where that was about a third of the time spent pickling them. The state is set
    through the slots' own descriptors (``object.__setattr__``, which a frozen dataclass's ``__init__`` uses
    too, looks each one up again: 1.5-2x slower); the same record (none of these classes has a
    ``__post_init__``: the decorator refuses one that has)."""
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: a record with __post_init__ cannot be set from its state")
    names = tuple(f.name for f in dataclasses.fields(cls))
    values = operator.attrgetter(*names)

    def __getstate__(self):
        return values(self) if len(names) > 1 else (values(self),)
    cls.__getstate__, cls.__setstate__ = __getstate__, _state_setter(cls, names)
    cls._state_names = names             # its state's layout (``schemas.records.records_of`` builds rows with it)
    return cls


def _state_setter(cls, names: tuple[str, ...]):
    """``__setstate__`` for ``names`` (the class's own field names, never data), one slot descriptor call per field
    written out: records are built this way by the hundred thousand (``from_state``, unpickling), and a loop over
    (setter, value) pairs cost ~30 % more (1.2 µs against 0.9 for a 16-field record)."""
    setters = {f"_set{i}": getattr(cls, name).__set__ for i, name in enumerate(names)}
    lines = "".join(f"    _set{i}(self, state[{i}])\n" for i in range(len(names)))
    scope: dict = {}
    exec(f"def __setstate__(self, state, {', '.join(f'{key}={key}' for key in setters)}):\n{lines}",  # noqa: S102
         setters, scope)
    return scope["__setstate__"]


def fields_in_order(cls, *names: str) -> None:
    """Refuse (at import) a caller's ``from_state`` layout that is no longer ``cls``'s field order: a moved or
    added field fails loudly instead of landing in another field's place."""
    if tuple(f.name for f in dataclasses.fields(cls)) != names:
        raise ImportError(f"{cls.__name__}'s fields moved: update the caller's from_state layout")


def from_state(cls, state: tuple):
    """A record of a ``compact_pickle`` class from all its field values in field order (its ``__getstate__``),
    without its ``__init__``: for the paths that build records by the hundred thousand. ``cls(**fields)`` builds
    the same record (``tests/schemas/test_schemas.py``)."""
    record = object.__new__(cls)
    cls.__setstate__(record, state)
    return record


class Flow(str, enum.Enum):
    DSN = "DSN"
    PASRAU = "PASRAU"


class DeclarantKind(str, enum.Enum):
    EMPLOYER = "EMPLOYER"
    PAYING_BODY = "PAYING_BODY"


class ResourceNature(str, enum.Enum):
    SALARY = "SALARY"
    UNEMPLOYMENT_BENEFIT = "UNEMPLOYMENT_BENEFIT"
    DAILY_ALLOWANCE = "DAILY_ALLOWANCE"
    PENSION = "PENSION"
    OTHER_INCOME = "OTHER_INCOME"


class Cause(str, enum.Enum):
    """Why a declaration carries an amount for a month."""

    PAYMENT = "PAYMENT"                      # the payment's own month (a level)
    BACK_PAY = "BACK_PAY"                    # pay elements whose period lies before the main month
    PAS_REGULARISATION = "PAS_REGULARISATION"  # S21.G00.56 delta attributed to the error month
    NET_SOCIAL_CORRECTION = "NET_SOCIAL_CORRECTION"  # S21.G00.58 type 03 attached to an earlier period


class Severity(str, enum.Enum):
    """What a violation takes out of the flow, widest first."""

    FILE = "FILE"
    ENVOI = "ENVOI"
    DECLARATION = "DECLARATION"
    PERSON = "PERSON"
    LINE = "LINE"
    WARNING = "WARNING"

    @property
    def rejects(self) -> bool:
        return self is not Severity.WARNING


@compact_pickle
@dataclass(frozen=True, slots=True)
class Origin:
    """Where something came from: file name (no directory) and a line range, 1-based."""

    file: str
    first_line: int
    last_line: int

    def at(self, first_line: int, last_line: int | None = None) -> "Origin":
        return Origin(self.file, first_line, first_line if last_line is None else last_line)

    def __str__(self) -> str:
        if self.first_line == self.last_line:
            return f"{self.file}:{self.first_line}"
        return f"{self.file}:{self.first_line}-{self.last_line}"


@compact_pickle
@dataclass(frozen=True, slots=True)
class Violation:
    """A data problem found by a rule. ``detail`` is English for operators and never holds values
    of personal data; ``explain`` is the French sentence for declarants and claimants."""

    rule_id: str
    severity: Severity
    origin: Origin
    rubric: str = ""
    detail: str = ""
    explain: str = ""
    family: str = ""

    def message(self) -> str:
        where = f"{self.origin} {self.rubric}".strip()
        return f"{self.detail} @ {where} [{self.rule_id}]"


@dataclass(frozen=True, slots=True)
class LineCounts:
    """Conservation: every line read is used, ignored or quarantined."""

    read: int = 0
    used: int = 0
    ignored: int = 0
    quarantined: int = 0

    def __add__(self, other: "LineCounts") -> "LineCounts":
        return LineCounts(self.read + other.read, self.used + other.used,
                          self.ignored + other.ignored, self.quarantined + other.quarantined)

    @property
    def balanced(self) -> bool:
        return self.read == self.used + self.ignored + self.quarantined


@dataclass(frozen=True, slots=True, kw_only=True)
class Amounts:
    """The six amounts a month carries, in integer cents; None when the source says nothing."""

    net_social_cents: int | None = None
    net_taxable_cents: int | None = None
    net_paid_cents: int | None = None
    gross_cents: int | None = None
    pas_base_cents: int | None = None
    pas_amount_cents: int | None = None


AMOUNT_FIELDS = ("net_social_cents", "net_taxable_cents", "net_paid_cents", "gross_cents", "pas_base_cents",
                 "pas_amount_cents")
_AMOUNT_VALUES = operator.attrgetter(*AMOUNT_FIELDS)


@compact_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceMonth(Amounts):
    """One declaration's amounts for person x declarant x nature x month, for one cause.

    Grain: a declaration may carry several records for one person: its payment month and, for
    back-pay or régularisations, earlier months. The register (later stage) versions them.
    """

    record_id: str
    person_key: str                  # keyed pseudonym: the only person id for analysis
    nir: str | None                  # 13 characters, liquidation only; None when identified by NTT
    ntt: str | None
    flow: Flow
    declarant_id: str                # SIRET of the employer or paying body
    declarant_kind: DeclarantKind
    nature: ResourceNature
    income_class: str | None         # PASRAU income class code, as declared
    month: Month                       # YYYY-MM the amount is attributed to (valid time)
    cause: Cause
    payment_count: int = 0
    payment_date: date | None = None  # latest payment date contributing
    period_start: date | None = None
    period_end: date | None = None
    declaration_id: str
    declaration_digest: str
    declaration_nature: str
    declaration_type: str
    declaration_rank: str
    declaration_fraction: str
    main_month: Month | None
    norm_version: str
    file: str
    first_line: int
    last_line: int


@compact_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineRecord:
    """What was taken out of the flow, why, and where. Never a clear NIR."""

    quarantine_id: str
    rule_id: str
    family: str
    severity: Severity
    scope: Severity                 # the unit actually quarantined (may be wider than the rule's)
    file: str
    first_line: int                 # the unit taken out (the finding itself, for a warning)
    last_line: int
    line: int                       # the line the finding points at
    rubric: str
    lines: int                      # how many input lines this record takes out (0 for a warning)
    declarant_id: str | None
    declaration_id: str | None
    person_key: str | None
    detail: str
    explain: str
    # What a declarant needs to find and fix it (gateway.validate.declared): never personal data.
    declared_value: str | None = None    # the rubric's value as declared (None for identity rubrics)
    expected: str | None = None          # French: the norm's format or list, when the value does not fit it
    payroll_number: str | None = None    # the employee's payroll number (S21.G00.30.019), never the NIR
    declaration_date: str | None = None  # the declaration's file date (S20.G00.05.007), ISO


@compact_pickle
@dataclass(frozen=True, slots=True)
class PersonMention:
    """One person in one accepted declaration, as the cross-declaration rules need it."""

    person_key: str
    open_contract: bool              # a contract with no end (S21.G00.62) and no planned end before next month
    first_line: int
    subrogated_allowance_cents: int = 0   # daily allowances the employer paid in the declaration (DSN)
    subrogated_months: str = ""           # months of the subrogation periods it declares (S21.G00.60), spaced


@compact_pickle
@dataclass(frozen=True, slots=True)
class AllowanceMention:
    """A daily allowance (IJ) amount for a person and month: subrogated by the employer (DSN, S21.G00.58
    type 10) or paid by the paying body (PASRAU, daily-allowance income class)."""

    person_key: str
    month: Month
    amount_cents: int
    flow: Flow
    declarant_id: str
    declaration_id: str
    file: str
    line: int


@compact_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class DeclarationSummary:
    """What a declaration tells about its declarant's sequence of declarations."""

    declarant_id: str
    flow: Flow
    nature: str
    type: str
    main_month: Month | None
    fraction: str
    rank: str
    digest: str
    declaration_id: str
    file: str
    first_line: int
    last_line: int
    people: tuple[PersonMention, ...] = ()
    slot_known: bool = False        # a declaration of the same slot is already in the register (earlier runs)
    arrived: str = ""               # when the gateway received it (the run's arrival time of its file), if known


@compact_pickle
@dataclass(frozen=True, slots=True)
class VersionPoint:
    """One version of a resource month, as the floating rules see it (no personal data)."""

    version: int
    transaction_time: Instant
    cause: str
    amount_cents: int | None        # the amount the policy measures changes on
    file: str
    first_line: int


@compact_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class MonthHistory:
    """What is known at ``as_of`` about person x declarant x nature x month: the floating rules' subject."""

    declarant_id: str
    flow: Flow
    nature: str
    month: Month
    as_of: Instant
    versions: tuple[VersionPoint, ...] = ()     # oldest first; empty when expected but never declared
    payment_count: int = 0                     # payments in the month (current declarations)
    spanning_allowance: bool = False           # a daily allowance whose imputation period spans months
    expected_missing: bool = False             # open contract last month, not declared although due
    late_replacement: str = ""                 # date of an A&R of the month's slot refused as too late ("" none)
    declarant_revision_rate: float = 0.0       # share of the declarant's months revised so far
    declarant_months: int = 0                  # how many months that share is measured on


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseChange:
    """A published (frozen) base and the same base recomputed with newer versions: the gate rules' subject."""

    benefit: str
    reference_month: Month
    as_of: Instant
    base_change_cents: int                  # recomputed - frozen, in the benefit's amount kind
    monthly_changes: tuple[tuple[str, int], ...]   # months that changed, with their change
    estimated_impact_cents: int             # benefit change for the claimant (estimate): < 0 is an overpayment
    held_by_request: bool                   # a correction request is open on a changed month
    unstable_score: float                   # highest "still moving" flag score on the changed months
    months_since_paid: int                  # from the last month paid with this base to as_of


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one unit of work (a file index or a chunk of declarations) produced."""

    # a tuple of records, or the same records as columns (schemas.records.ResourceRows: the columnar normaliser's)
    resources: Sequence[ResourceMonth] = ()
    quarantine: tuple[QuarantineRecord, ...] = ()
    warnings: tuple[QuarantineRecord, ...] = ()
    counts: LineCounts = field(default_factory=LineCounts)
    declarations: int = 0
    files: int = 0
    summaries: tuple[DeclarationSummary, ...] = ()
    allowances: tuple[AllowanceMention, ...] = ()

    def __add__(self, other: "Outcome") -> "Outcome":
        return Outcome.combine((self, other))

    @classmethod
    def combine(cls, outcomes: Iterable["Outcome"]) -> "Outcome":
        """Many outcomes into one, in linear time (records in the order given, counts summed)."""
        outcomes = list(outcomes)
        counts = LineCounts()
        for outcome in outcomes:
            counts += outcome.counts
        from schemas.records import resource_rows       # (schemas.records reads this module's records)
        return cls(resource_rows([outcome.resources for outcome in outcomes]), **{name: tuple(item for outcome in outcomes for item in getattr(outcome, name))
                                 for name in ("quarantine", "warnings", "summaries", "allowances")},
                   counts=counts, declarations=sum(o.declarations for o in outcomes),
                   files=sum(o.files for o in outcomes))


# Records of the register, the floating flags, the bases and the gate: defined here, once, next to the
# other shared records, so that their schemas (schemas/records.py) and every stage read one definition.

class VersionCause(str, enum.Enum):
    INITIAL = "INITIAL"
    LATE = "LATE"
    REPLACEMENT = "REPLACEMENT"
    PAS_REGULARISATION = "PAS_REGULARISATION"
    BACK_PAY = "BACK_PAY"
    NET_SOCIAL_CORRECTION = "NET_SOCIAL_CORRECTION"
    PASRAU_CORRECTION = "PASRAU_CORRECTION"
    FORCED = "FORCED"


@compact_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceVersion(Amounts):
    version_id: str
    person_key: str
    nir: str | None
    declarant_id: str
    nature: str
    month: Month
    version: int
    transaction_time: Instant
    cause: VersionCause
    declaration_id: str
    declaration_digest: str
    file: str
    first_line: int
    run_id: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.person_key, self.declarant_id, self.nature, self.month)

    @property
    def amounts(self) -> tuple:
        return _AMOUNT_VALUES(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class FloatingFlag:
    """One reason why a resource month may still move, with a score and a sentence for the claimant."""

    flag_id: str
    person_key: str
    declarant_id: str
    nature: str
    month: Month
    rule_id: str
    score: float
    explain: str                   # French, for claimants and officers
    detail: str                    # English figures for operators (no personal data)
    version: int | None            # the month's current version (None: expected, never declared)
    revisions: int                 # versions after the first
    first_known: str | None
    last_changed: str | None
    file: str
    first_line: int
    policy_version: str
    as_of: Instant

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.person_key, self.declarant_id, self.nature, self.month)


@compact_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceBase:
    base_id: str
    person_key: str
    benefit: str
    reference_month: Month           # M, the month the right is examined
    window_first: Month              # first month of the reference period
    window_last: Month
    amount_kind: str               # which amount the benefit uses (net taxable, net social…)
    months_declared: int           # months of the window with at least one version
    total_cents: int               # sum of the monthly amounts (after flooring when the policy says so)
    deduction_cents: int           # flat work-expense deduction (AL)
    double_counted_cents: int      # subrogated daily allowances also declared by the paying body, counted once
    base_cents: int                # total - deduction
    floating_cents: int            # part of the total coming from months with a floating flag
    floating_share: float          # floating_cents / total of absolute amounts (0 when nothing declared)
    monthly_cents: str             # "YYYY-MM:cents" for each window month, space-separated
    versions_used: str             # version ids, space-separated, sorted
    policy_version: str
    as_of: Instant


@dataclass(frozen=True, slots=True, kw_only=True)
class GateDecision:
    decision_id: str
    person_key: str
    benefit: str
    reference_month: Month
    kind: str
    status: str                        # PENDING (re-examined on later runs) or FINAL
    rule_id: str
    explain: str                       # French, for the claimant
    frozen_base_id: str
    new_base_id: str
    frozen_base_cents: int
    new_base_cents: int
    base_change_cents: int
    monthly_changes: str               # "YYYY-MM:+cents" of the months that changed
    estimated_impact_cents: int        # benefit change for the claimant, estimate (< 0: overpayment)
    estimator: str
    versions_added: str                # versions the new base uses that the frozen one did not
    supersedes: str | None             # the previous decision on the same base, if any
    officer: str | None
    officer_reason: str | None
    spread_months: int | None
    policy_version: str
    as_of: Instant
    recovery_monthly_cents: int | None = None   # an overpayment recovered: the monthly deduction (policy scale)
    recovery_months: int | None = None          # how many deductions (0: none possible above the reste à vivre)


@dataclass(frozen=True)
class OfficerAnswer:
    decision_id: str
    action: str                        # regularise, keep-frozen, spread
    spread_months: int | None
    reason: str
    officer: str
    at: str
