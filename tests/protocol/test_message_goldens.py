"""Every registered command and event has a golden file that decodes and re-encodes to itself.

A helper who registers a message (COMMAND_SPECS / EVENT_SPECS) without its golden file under
tests/fixtures/messages/commands|events/ makes these tests fail: that is the point.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures.golden import (
    COMMAND_GOLDENS,
    EVENT_GOLDENS,
    command_golden,
    event_golden,
    golden_command_names,
    golden_event_names,
)
from station_protocol import contract

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
COMMANDS = sorted(contract.COMMANDS)
EVENTS = sorted(contract.EVENTS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_a_golden_file(name: str) -> None:
    assert (COMMAND_GOLDENS / f"{name}.json").is_file(), f"add tests/fixtures/messages/commands/{name}.json"
    assert set(command_golden(name)) == {"args", "output"}


@pytest.mark.parametrize("name", EVENTS)
def test_event_has_a_golden_file(name: str) -> None:
    assert (EVENT_GOLDENS / f"{name}.json").is_file(), f"add tests/fixtures/messages/events/{name}.json"


def test_no_golden_file_for_an_unregistered_name() -> None:
    assert set(golden_command_names()) <= set(COMMANDS)
    assert set(golden_event_names()) <= set(EVENTS)


@pytest.mark.parametrize("name", [n for n in COMMANDS if n in golden_command_names()])
def test_golden_command_round_trips(name: str) -> None:
    golden = command_golden(name)
    assert contract.encode(contract.decode_args(name, golden["args"])) == golden["args"]
    assert contract.encode(contract.decode_output(name, golden["output"])) == golden["output"]


@pytest.mark.parametrize("name", [n for n in EVENTS if n in golden_event_names()])
def test_golden_event_round_trips(name: str) -> None:
    detail = event_golden(name)
    assert contract.encode(contract.decode_event(name, detail)) == detail


def _documented_names() -> set[str]:
    """Names in backticks on a docs/protocol.md heading (``### `portal.allow` (command)``) or table row."""
    lines = [line for line in DOC.read_text().splitlines() if line.startswith(("#", "|"))]
    return {name for line in lines for name in re.findall(r"`([a-z_]+(?:\.[a-z_]+)*)`", line)}


@pytest.mark.parametrize("name", COMMANDS + EVENTS)
def test_protocol_doc_documents_every_message(name: str) -> None:
    assert name in _documented_names(), f"docs/protocol.md has no heading or table row naming `{name}`"


def test_the_doc_check_can_fail() -> None:
    assert "portal.no_such_message" not in _documented_names()
