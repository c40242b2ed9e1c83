"""Alembic environment: runs migrations online against the URL given by ``alembic_config``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from station_controller.auth import models as _auth_models  # noqa: F401  (register tables)
from station_controller.campaigns import models as _campaign_models  # noqa: F401
from station_controller.commands import models as _command_models  # noqa: F401
from station_controller.content import models as _content_models  # noqa: F401
from station_controller.db import Base, make_engine
from station_controller.migrations import include_object_for
from station_controller.portal import models as _portal_models  # noqa: F401
from station_controller.provisioning import models as _provisioning_models  # noqa: F401
from station_controller.provisioning.configs import models as _provisioning_config_models  # noqa: F401
from station_controller.provisioning.jobs import models as _provisioning_job_models  # noqa: F401
from station_controller.registry import models as _registry_models  # noqa: F401

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object_for(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: use station_controller.migrations.upgrade_head(url)")
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run against a database")
run_online()
