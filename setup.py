"""drm-gateway. Beam ships this multi-module package to workers with --setup_file ./setup.py."""
from setuptools import find_packages, setup

setup(
    name="drm-gateway",
    version="0.1.0",
    description="Data-quality gateway between DSN/PASRAU flows and benefit liquidation",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["gateway", "gateway.*", "schemas", "schemas.*", "transforms", "transforms.*",
                                    "corrections", "corrections.*", "fixtures", "fixtures.*"]),
    package_data={
        "schemas": ["*.avsc", "norm/*.json"],
        "gateway.publish": ["templates/*.j2"],
        "gateway.policy": ["*.yaml", "examples/*.yaml"],
        "corrections": ["*.yaml", "migrations/*.py", "migrations/versions/*.py", "templates/*.j2"],
        "fixtures": ["bundled/*", "bundled/*/*", "bundled/*/*/*"],
    },
    install_requires=[
        "apache-beam==2.77.0",
        "pyarrow>=17,<26",
        "pandera[polars]==0.35.0",
        "polars>=1.0",
        "fastavro>=1.9",
        "structlog>=24.1",
        "python-stdnum>=1.20",
        "typer>=0.12",
        "rich>=13",
        "pyyaml>=6",
        "jinja2>=3.1",
        "matplotlib>=3.8",
        "sqlalchemy>=2.0,<2.2",
        "alembic>=1.13",
        "psycopg[binary]>=3.1",
    ],
    extras_require={"test": ["pytest>=8", "hypothesis>=6.100"]},
    entry_points={"console_scripts": ["drm-gateway=gateway.cli:main"]},
)
