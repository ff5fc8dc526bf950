"""Gate decisions waiting for an officer can be assigned to one (the console's review queue)."""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table("assignments",
                    sa.Column("decision_id", sa.String(24), primary_key=True),
                    sa.Column("assignee", sa.String(40), nullable=False),
                    sa.Column("assigned_by", sa.String(40), nullable=False),
                    sa.Column("at", sa.String(25), nullable=False))


def downgrade() -> None:
    op.drop_table("assignments")
