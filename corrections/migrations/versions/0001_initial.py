"""Initial schema: officers, requests, request months, audit events, synced runs."""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table("officers", sa.Column("officer_id", sa.String(40), primary_key=True),
                    sa.Column("active", sa.Boolean, nullable=False), sa.Column("added_at", sa.String(25), nullable=False))
    op.create_table(
        "requests", sa.Column("request_id", sa.String(24), primary_key=True),
        sa.Column("person_key", sa.String(64), nullable=False, index=True), sa.Column("nir", sa.String(15)),
        sa.Column("declarant_id", sa.String(14), nullable=False, index=True),
        sa.Column("flow", sa.String(8), nullable=False), sa.Column("nature", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False), sa.Column("documents", sa.Text, nullable=False),
        sa.Column("flag_rule", sa.String(12)), sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("state_since", sa.String(25), nullable=False), sa.Column("due_at", sa.String(25)),
        sa.Column("reminded_at", sa.String(25)), sa.Column("opened_by", sa.String(40), nullable=False),
        sa.Column("opened_at", sa.String(25), nullable=False), sa.Column("routing_target", sa.String(80)),
        sa.Column("routing_channel", sa.String(80)), sa.Column("source_answer", sa.Text),
        sa.Column("forced_justification", sa.Text), sa.Column("forced_evidence", sa.Text),
        sa.Column("outcome", sa.String(24)), sa.Column("revision", sa.Integer, nullable=False))
    op.create_table(
        "request_months", sa.Column("request_id", sa.String(24), sa.ForeignKey("requests.request_id"), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True), sa.Column("disputed_cents", sa.BigInteger),
        sa.Column("claimed_cents", sa.BigInteger, nullable=False), sa.Column("corrected_cents", sa.BigInteger),
        sa.Column("corrected_version", sa.String(24)), sa.Column("forced_cents", sa.BigInteger))
    op.create_table(
        "events", sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(24), sa.ForeignKey("requests.request_id"), nullable=False, index=True),
        sa.Column("at", sa.String(25), nullable=False), sa.Column("actor", sa.String(40), nullable=False),
        sa.Column("action", sa.String(24), nullable=False), sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False), sa.Column("note", sa.Text, nullable=False))
    op.create_table("synced_runs", sa.Column("run_id", sa.String(40), primary_key=True),
                    sa.Column("at", sa.String(25), nullable=False))


def downgrade() -> None:
    for table in ("synced_runs", "events", "request_months", "requests", "officers"):
        op.drop_table(table)
