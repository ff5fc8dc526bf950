"""Stores for the corrections tests: SQLite always; PostgreSQL when DRM_GATEWAY_TEST_DB names a server
(.ci/run starts one from the OS packages); otherwise those tests skip with the reason."""
import os
import uuid

import pytest

from corrections.store import CorrectionStore

PG_URL = os.environ.get("DRM_GATEWAY_TEST_DB")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'corrections.db'}"
        return
    if not PG_URL:
        pytest.skip("no PostgreSQL server: set DRM_GATEWAY_TEST_DB=postgresql://… (.ci/run starts one)")
    import sqlalchemy
    schema = "t" + uuid.uuid4().hex[:12]                 # one fresh database per test
    admin = sqlalchemy.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"),
                                     isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {schema}"))
    yield sqlalchemy.engine.make_url(PG_URL).set(database=schema).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {schema} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def store(store_url) -> CorrectionStore:
    store = CorrectionStore(store_url)
    store.add_officer("agent-1")
    return store


def an_open_request(store: CorrectionStore, *, at: str = "2025-05-03T09:00:00Z", months=None) -> str:
    return store.open(person_key="p" * 32, nir="1850375111042", declarant_id="12345678900011", flow="DSN",
                      nature="SALARY", months=months or {"2025-03": (300000, 208000)},
                      reason="Le montant ne correspond pas au bulletin.", documents="bulletin", officer="agent-1", at=at)
