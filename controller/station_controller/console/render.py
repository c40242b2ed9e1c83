"""The console's own pages render through the web kit with the console's label table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response

from ..web import pages
from .i18n import MESSAGES


def render(request: Request, name: str, context: Mapping[str, Any], **kwargs: Any) -> Response:
    """``web.render`` with ``t`` over the console's labels (stations, devices, commands, login)."""
    return pages.render(request, name, context, labels=MESSAGES, **kwargs)
