"""Structured output from show commands: ntc-templates where a template exists, our own TextFSM otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import textfsm  # type: ignore[import-untyped]
from ntc_templates.parse import parse_output  # type: ignore[import-untyped]

OWN_TEMPLATES = Path(__file__).parent / "templates"


def parse_ntc(*, platform: str, command: str, output: str) -> list[dict[str, Any]]:
    """Rows of ``output`` parsed by the ntc-templates template for ``platform`` + ``command``."""
    rows: list[dict[str, Any]] = parse_output(platform=platform, command=command, data=output)
    return rows


def parse_own(template: str, output: str) -> list[dict[str, Any]]:
    """Rows of ``output`` parsed by one of our TextFSM templates (for commands ntc-templates lacks)."""
    with (OWN_TEMPLATES / template).open(encoding="utf-8") as handle:
        fsm = textfsm.TextFSM(handle)
    rows = fsm.ParseText(output)
    return [dict(zip((h.lower() for h in fsm.header), row, strict=True)) for row in rows]
