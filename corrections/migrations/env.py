"""Alembic environment: run by the store with an open connection (``config.attributes["connection"]``)."""
from alembic import context

from corrections.model import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
