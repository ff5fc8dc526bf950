"""Tables of the corrections store (SQLAlchemy 2 declarative). Created and upgraded by alembic only."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Officer(Base):
    __tablename__ = "officers"
    officer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[str] = mapped_column(String(25))


class Request(Base):
    __tablename__ = "requests"
    request_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), index=True)
    nir: Mapped[str | None] = mapped_column(String(15))          # for the notice to the source only
    declarant_id: Mapped[str] = mapped_column(String(14), index=True)
    flow: Mapped[str] = mapped_column(String(8))
    nature: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    documents: Mapped[str] = mapped_column(Text, default="")
    flag_rule: Mapped[str | None] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(16), index=True)
    state_since: Mapped[str] = mapped_column(String(25))
    due_at: Mapped[str | None] = mapped_column(String(25))
    reminded_at: Mapped[str | None] = mapped_column(String(25))
    opened_by: Mapped[str] = mapped_column(String(40))
    opened_at: Mapped[str] = mapped_column(String(25))
    routing_target: Mapped[str | None] = mapped_column(String(80))
    routing_channel: Mapped[str | None] = mapped_column(String(80))
    source_answer: Mapped[str | None] = mapped_column(Text)
    forced_justification: Mapped[str | None] = mapped_column(Text)
    forced_evidence: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(24))       # IN_FAVOUR / NOT_AS_CLAIMED once corrected
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    months: Mapped[list["RequestMonth"]] = relationship(back_populates="request", order_by="RequestMonth.month",
                                                        cascade="all, delete-orphan")
    events: Mapped[list["Event"]] = relationship(back_populates="request", order_by="Event.event_id")
    __mapper_args__ = {"version_id_col": revision}          # optimistic locking: concurrent updates detected


class RequestMonth(Base):
    __tablename__ = "request_months"
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.request_id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    disputed_cents: Mapped[int | None] = mapped_column(BigInteger)
    claimed_cents: Mapped[int] = mapped_column(BigInteger)
    corrected_cents: Mapped[int | None] = mapped_column(BigInteger)
    corrected_version: Mapped[str | None] = mapped_column(String(24))
    forced_cents: Mapped[int | None] = mapped_column(BigInteger)
    request: Mapped[Request] = relationship(back_populates="months")


class Event(Base):
    """The audit trail: every transition and notice, who, when, why."""

    __tablename__ = "events"
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.request_id"), index=True)
    at: Mapped[str] = mapped_column(String(25))
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    request: Mapped[Request] = relationship(back_populates="events")


class SyncedRun(Base):
    """Register runs already applied to the requests (the flow closes requests once per run)."""

    __tablename__ = "synced_runs"
    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[str] = mapped_column(String(25))


class User(Base):
    """A console user. Roles: officer (requests), supervisor (+ REVIEW_CAP decisions, forced values), admin (users)."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(40), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(String(25))
    # Checked on every request: logging out or being deactivated ends every open session of the user at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")   # since the last success
    locked_until: Mapped[str | None] = mapped_column(String(25), nullable=True)


class AuditEntry(Base):
    """Every action of a user, in the console or on the command line: who, when, what, on what, the outcome,
    the reason given and where."""

    __tablename__ = "audit"
    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(25))
    username: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(8), default="console", server_default="console")   # or "cli"


class Assignment(Base):
    """Who a gate decision waiting for an officer is assigned to (the console's "my items")."""

    __tablename__ = "assignments"
    decision_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    assignee: Mapped[str] = mapped_column(String(40))
    assigned_by: Mapped[str] = mapped_column(String(40))
    at: Mapped[str] = mapped_column(String(25))
