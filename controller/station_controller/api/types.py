"""Field types shared by the API schemas: timestamps always carry their time zone (UTC).

SQLite hands back naive datetimes (stored UTC by convention), which pydantic would serialise without an
offset; a client could then read them as local time. ``UtcDateTime`` attaches UTC to naive values and
converts aware ones, so every timestamp in a response is ISO 8601 ending in ``Z``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator

from ..kernel.clock import as_utc

UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
