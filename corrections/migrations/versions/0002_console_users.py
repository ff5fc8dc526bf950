"""Console users (hashed passwords, roles) and the console's audit trail."""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table("users", sa.Column("username", sa.String(40), primary_key=True),
                    sa.Column("password_hash", sa.String(200), nullable=False),
                    sa.Column("role", sa.String(16), nullable=False), sa.Column("active", sa.Boolean, nullable=False),
                    sa.Column("created_at", sa.String(25), nullable=False))
    op.create_table("audit", sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("at", sa.String(25), nullable=False), sa.Column("username", sa.String(40), nullable=False),
                    sa.Column("action", sa.String(40), nullable=False), sa.Column("target", sa.String(80), nullable=False),
                    sa.Column("outcome", sa.String(16), nullable=False), sa.Column("reason", sa.Text, nullable=False))


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("users")
