"""The audit trail says where an action was taken: the console or the command line (one identity for both)."""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("channel", sa.String(8), nullable=False, server_default="console"))


def downgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("channel")
