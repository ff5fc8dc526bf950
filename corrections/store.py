"""The corrections store: SQLite by default, PostgreSQL by URL; every operation one transaction.

``CorrectionStore(url)`` upgrades the schema with alembic when it opens. Operations check the actor's
role and the state machine before changing anything; a concurrent change of the same request (another
process) is detected by the row's revision and refused with ConcurrentUpdateError, the store unchanged.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Iterator

import yaml
from alembic import command
from alembic.config import Config
from sqlalchemy import and_, create_engine, event, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm import Session, sessionmaker

from corrections.errors import (ConcurrentUpdateError, CorrectionError, IllegalTransitionError, InvalidRequestError,
                                NotAnOfficerError, UnknownRequestError)
from corrections.model import Event, Officer, Request, RequestMonth, SyncedRun
from corrections.states import SYSTEM_ACTIONS, Action, State, next_state
from gateway.errors import ErrorCode
from gateway.layout import RunLayout

NOT_AS_CLAIMED = "NOT_AS_CLAIMED"     # a correction that does not give the claimant's amount

SYSTEM = "system"


@dataclass(frozen=True)
class Settings:
    version: str
    deadlines_days: dict[str, int]
    reminder_days_before: int
    in_favour_tolerance_cents: int


def load_settings(path: str | Path | None = None) -> Settings:
    text = Path(path).read_text() if path else resources.files("corrections").joinpath("config.yaml").read_text()
    data = yaml.safe_load(text)
    return Settings(data["version"], {k: int(v) for k, v in data["deadlines_days"].items()},
                    int(data["reminder_days_before"]), int(data["in_favour_tolerance_cents"]))


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def _plus_days(moment: str, days: int) -> str:
    return (_parse(moment) + timedelta(days=days)).isoformat(timespec="seconds").replace("+00:00", "Z")


def default_url(folder: Path) -> str:
    return f"sqlite:///{RunLayout.of(folder).corrections_db.resolve()}"


class CorrectionStore:
    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = create_engine(url, future=True)
            if url.startswith("sqlite"):
                event.listen(self.engine, "connect", _sqlite_pragmas)
            self._migrate()
        except OperationalError as error:
            raise CorrectionError(f"corrections store unavailable @ {self.engine.url.render_as_string(hide_password=True)}: "
                                  f"{str(error.orig).strip().splitlines()[0][:200]}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(resources.files("corrections").joinpath("migrations")))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except StaleDataError:
            session.rollback()
            raise ConcurrentUpdateError("request changed by another process @ corrections store: expected no "
                                        "concurrent update; reload and try again") from None
        except OperationalError as error:
            session.rollback()
            raise CorrectionError(f"corrections store failed @ {self.engine.url.drivername}: "
                                  f"{str(error.orig).strip().splitlines()[0][:200]}; nothing was changed") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # --- officers -------------------------------------------------------------------------------------
    def add_officer(self, officer_id: str, at: str | None = None) -> None:
        with self.transaction() as session:
            if session.get(Officer, officer_id) is None:
                session.add(Officer(officer_id=officer_id, active=True, added_at=at or now_iso()))

    def _officer(self, session: Session, actor: str) -> None:
        officer = session.get(Officer, actor)
        if officer is None or not officer.active:
            raise NotAnOfficerError(f"not an officer @ {actor}: expected an active console user with the officer or "
                                    "supervisor role (drm-gateway users add NAME --role officer)")

    # --- requests -------------------------------------------------------------------------------------
    def open(self, *, person_key: str, nir: str | None, declarant_id: str, flow: str, nature: str,
             months: dict[str, tuple[int | None, int]], reason: str, documents: str, officer: str, at: str,
             flag_rule: str | None = None, confirmed: bool = False) -> str:
        """A new request; ``months``: month -> (disputed amount from the register, amount the claimant states).
        A month where the claimant states what is already declared has nothing to correct: refused unless the
        officer confirms (``confirmed``: the dispute is about something else, e.g. the month it belongs to)."""
        if not months:
            raise InvalidRequestError("no month @ --month: expected at least one disputed month")
        same = sorted(month for month, (declared, stated) in months.items() if declared == stated)
        if same and not confirmed:
            raise InvalidRequestError(f"stated amount equals the declared one @ {', '.join(same)}: expected a "
                                      "different amount, or --confirm when the dispute is about something else",
                                      code=ErrorCode.SAME_AS_DECLARED)
        if not reason.strip():
            raise InvalidRequestError("reason @ --reason: expected why the claimant disputes the amount")
        request_id = "REQ-" + hashlib.sha256(f"{person_key}|{declarant_id}|{sorted(months)}|{at}".encode()).hexdigest()[:16]
        with self.transaction() as session:
            self._officer(session, officer)
            if session.get(Request, request_id) is not None:
                raise InvalidRequestError(f"request exists @ {request_id}: expected a new request")
            request = Request(request_id=request_id, person_key=person_key, nir=nir, declarant_id=declarant_id,
                              flow=flow, nature=nature, reason=reason.strip(), documents=documents, flag_rule=flag_rule,
                              state=State.OPEN.value, state_since=at,
                              due_at=_plus_days(at, self.settings.deadlines_days["OPEN"]), opened_by=officer,
                              opened_at=at, revision=1)
            request.months = [RequestMonth(month=m, disputed_cents=d, claimed_cents=c) for m, (d, c) in sorted(months.items())]
            session.add(request)
            session.add(Event(request_id=request_id, at=at, actor=officer, action="open", from_state=None,
                              to_state=State.OPEN.value, note=reason.strip()))
        return request_id

    def transition(self, request_id: str, action: Action, *, actor: str, at: str, note: str = "",
                   session: Session | None = None, **fields) -> Request:
        """Apply one action (role and state checked first; nothing changes on refusal)."""
        if session is None:
            with self.transaction() as own:
                return self.transition(request_id, action, actor=actor, at=at, note=note, session=own, **fields)
        request = session.get(Request, request_id)
        if request is None:
            raise UnknownRequestError(f"no request @ {request_id}: expected an id from corrections list")
        if action in SYSTEM_ACTIONS:
            if actor != SYSTEM:
                raise IllegalTransitionError(f"{action.value} by hand @ {request_id}: expected the flow or the clock "
                                             "to do it")
        else:
            self._officer(session, actor)
        target = next_state(State(request.state), action)
        for name, value in fields.items():
            setattr(request, name, value)
        session.add(Event(request_id=request_id, at=at, actor=actor, action=action.value, from_state=request.state,
                          to_state=target.value, note=note))
        request.state, request.state_since = target.value, at
        days = self.settings.deadlines_days.get(target.value)
        request.due_at = _plus_days(at, days) if days is not None else None
        request.reminded_at = None
        return request

    def get(self, request_id: str) -> Request:
        with self.transaction() as session:
            request = session.get(Request, request_id)
            if request is None:
                raise UnknownRequestError(f"no request @ {request_id}: expected an id from corrections list")
            _ = list(request.months), list(request.events)
            return request

    def list(self, *, state: str | None = None, declarant: str | None = None, overdue_at: str | None = None,
             person_key: str | None = None) -> list[Request]:
        with self.transaction() as session:
            query = select(Request).order_by(Request.opened_at, Request.request_id)
            if state:
                query = query.where(Request.state == state)
            if declarant:
                query = query.where(Request.declarant_id == declarant)
            if person_key:
                query = query.where(Request.person_key == person_key)
            rows = list(session.scalars(query))
            for row in rows:
                _ = list(row.months), list(row.events)
            if overdue_at:
                rows = [r for r in rows if r.due_at and r.due_at < overdue_at]
            return rows

    def open_months(self) -> list[tuple[str, str, str]]:
        """(person, declarant, month) of every request the gate waits on (a forced value is applied). A request
        the source corrected but not as the claimant stated (NOT_AS_CLAIMED) still holds the gate: the dispute
        is not resolved until an officer closes it."""
        from corrections.states import HOLDING
        disputed = and_(Request.state == State.CORRECTED.value, Request.outcome == NOT_AS_CLAIMED)
        with self.transaction() as session:
            rows = session.execute(select(Request.person_key, Request.declarant_id, RequestMonth.month)
                                   .join(RequestMonth)
                                   .where(or_(Request.state.in_([s.value for s in HOLDING]), disputed)))
            return sorted(set(rows.all()))

    def synced(self, run_id: str) -> bool:
        with self.transaction() as session:
            return session.get(SyncedRun, run_id) is not None


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")      # a second process waits for the lock instead of failing
    cursor.close()
