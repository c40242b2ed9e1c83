"""Migration 0010 builds the lesson tables exactly as the models say (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from station_controller.db import make_engine
from station_controller.lessons.models import Lesson, LessonTarget
from station_controller.migrations import upgrade_head


def test_lesson_tables_match_the_models(any_db_url: str) -> None:
    upgrade_head(any_db_url)
    mine = MetaData()
    for model in (Lesson, LessonTarget):
        Lesson.metadata.tables[model.__tablename__].to_metadata(mine)
    engine = make_engine(any_db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, kind, _parent: kind != "table" or name in mine.tables,
                },
            )
            diff = compare_metadata(ctx, mine)
    finally:
        engine.dispose()
    assert diff == []
