"""Dispatcher statuses: ok, expired, already_applied (also after a restart), rejected, failed, timeout."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Dict, Mapping

from station_agent.commands import CommandContext, Handler, ping
from station_agent.dispatcher import Dispatcher
from station_agent.outbox import Outbox
from station_agent.state import StateStore
from station_agent.tunables import Tunables
from station_protocol import Command, Event, Result, decode, encode, make, now_ms

from .conftest import DEVICE

CMD_TOPIC = f"st/v1/{DEVICE}/cmd"


def boom(ctx: CommandContext) -> Dict[str, Any]:
    raise RuntimeError("disk on fire")


def recorder(ran: list[str]) -> Handler:
    def record(ctx: CommandContext) -> Dict[str, Any]:
        ran.append(ctx.name)
        return {}

    return record


def make_slow(release: threading.Event) -> Handler:
    def slow(ctx: CommandContext) -> Dict[str, Any]:
        ctx.cancel.wait(30)  # a well-behaved long handler stops when told to
        release.set()
        return {}

    return slow


def dispatcher(
    store: StateStore, handlers: Mapping[str, Handler], *, max_timeout_s: float = 60.0
) -> Dispatcher:
    return Dispatcher(
        device_id=DEVICE,
        store=store,
        outbox=Outbox(store, max_messages=1000, max_bytes=1 << 20),
        handlers=handlers,
        tunables=Tunables(telemetry_interval_s=30.0, command_timeout_s=30.0),
        max_timeout_s=max_timeout_s,
    )


def command(
    name: str, *, cmd_id: str = "c" * 32, expires_in_ms: int = 60_000, timeout_s: float = 30.0, **args: Any
) -> bytes:
    body = Command(name=name, expires_at=now_ms() + expires_in_ms, timeout_s=timeout_s, args=args)
    return encode(make(DEVICE, body, msg_id=cmd_id))


def queued(store: StateStore) -> list[Any]:
    return [decode(row.payload).body for row in Outbox(store, max_messages=10, max_bytes=1 << 20).peek(100)]


def test_ok_result_is_queued_with_the_handler_output(store: StateStore) -> None:
    result = dispatcher(store, {"ping": ping}).handle(CMD_TOPIC, command("ping", hello="world"))
    assert result is not None
    assert (result.command_id, result.status, result.error) == ("c" * 32, "ok", None)
    assert result.output["echo"] == {"hello": "world"}
    assert queued(store) == [result]


def test_expired_command_is_not_run(store: StateStore) -> None:
    ran: list[str] = []
    handlers: Dict[str, Handler] = {"ping": recorder(ran)}
    result = dispatcher(store, handlers).handle(CMD_TOPIC, command("ping", expires_in_ms=-1000))
    assert result is not None
    assert result.status == "expired"
    assert ran == []


def test_repeated_id_answers_already_applied_with_the_stored_result_even_after_restart(
    state_path: Path,
) -> None:
    first = StateStore.open(state_path)
    original = dispatcher(first, {"ping": ping}).handle(CMD_TOPIC, command("ping", n=1))
    first.close()

    second = StateStore.open(state_path)
    ran: list[str] = []
    handlers: Dict[str, Handler] = {"ping": recorder(ran)}
    again = dispatcher(second, handlers).handle(CMD_TOPIC, command("ping", n=1))
    assert original is not None
    assert again is not None
    assert again.status == "already_applied"
    assert again.output["previous"]["status"] == "ok"
    assert again.output["previous"]["output"] == original.output
    assert ran == []
    assert [r.status for r in queued(second)] == ["ok", "already_applied"]
    second.close()


def test_unknown_command_is_rejected_naming_the_known_ones(store: StateStore) -> None:
    result = dispatcher(store, {"ping": ping}).handle(CMD_TOPIC, command("format_disk"))
    assert result is not None
    assert result.status == "rejected"
    assert result.error is not None
    assert "'format_disk'" in result.error
    assert "ping" in result.error


def test_handler_exception_becomes_failed_with_the_error_text(store: StateStore) -> None:
    result = dispatcher(store, {"boom": boom}).handle(CMD_TOPIC, command("boom"))
    assert result is not None
    assert result.status == "failed"
    assert result.error == "RuntimeError: disk on fire"


def test_handler_past_its_timeout_is_cancelled_and_answered_timeout(store: StateStore) -> None:
    released = threading.Event()
    result = dispatcher(store, {"slow": make_slow(released)}).handle(
        CMD_TOPIC, command("slow", timeout_s=0.2)
    )
    assert result is not None
    assert result.status == "timeout"
    assert released.wait(5), "the handler was told to stop"


def test_timeout_is_capped_by_the_agent_setting(store: StateStore) -> None:
    released = threading.Event()
    disp = dispatcher(store, {"slow": make_slow(released)}, max_timeout_s=0.2)
    result = disp.handle(CMD_TOPIC, command("slow", timeout_s=3600))
    assert result is not None
    assert result.status == "timeout"
    assert result.error == "no result within 0.2s"


def test_undecodable_payload_is_logged_and_reported_as_an_event(store: StateStore) -> None:
    assert dispatcher(store, {"ping": ping}).handle(CMD_TOPIC, b"{not json") is None
    bodies = queued(store)
    assert len(bodies) == 1
    assert isinstance(bodies[0], Event)
    assert bodies[0].name == "bad_command"
    assert "not UTF-8 JSON" in bodies[0].detail["error"]


def test_command_for_another_device_is_refused(store: StateStore) -> None:
    payload = command("ping")
    assert dispatcher(store, {"ping": ping}).handle("st/v1/stb-0002/cmd", payload) is None
    assert [b.name for b in queued(store)] == ["bad_command"]


def test_output_that_is_not_json_turns_into_failed(store: StateStore) -> None:
    handlers: Dict[str, Handler] = {"odd": lambda ctx: {"when": object()}}
    result = dispatcher(store, handlers).handle(CMD_TOPIC, command("odd"))
    assert result is not None
    assert result.status == "failed"
    assert isinstance(queued(store)[0], Result)
