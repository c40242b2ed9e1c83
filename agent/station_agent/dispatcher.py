"""Runs commands in arrival order on the command worker and queues one ``Result`` per command id.

Statuses: ok; expired (``expires_at`` passed); already_applied (the id was answered before, output is
``{"previous": <stored result body>}``); rejected (unknown command name, or the handler raised
``CommandRejected`` for bad arguments); failed (the handler raised anything else);
timeout (the handler ran past ``timeout_s``, capped by ``commands.max_timeout_s``). A payload that does
not decode is logged and reported as an ``Event`` named ``bad_command``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from station_protocol import (
    Channel,
    Command,
    Envelope,
    Event,
    PayloadTooLarge,
    ProtocolError,
    Result,
    decode_from,
    encode,
    make,
    now_ms,
    topic,
)
from station_protocol import commands as names
from station_protocol.messages import body_to_dict

from .commands.base import CommandContext, Handler
from .errors import AlreadyApplied, CommandRejected
from .outbox import Outbox
from .state import StateStore
from .tunables import Tunables

log = logging.getLogger(__name__)


class Dispatcher:
    """Decode → check expiry and idempotency → run the handler under a timeout → commit the result."""

    def __init__(
        self,
        *,
        device_id: str,
        store: StateStore,
        outbox: Outbox,
        handlers: Mapping[str, Handler],
        tunables: Tunables,
        max_timeout_s: float,
        keep_applied: int = 10000,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._device_id = device_id
        self._store = store
        self._outbox = outbox
        self._handlers = dict(handlers)
        self._tunables = tunables
        self._max_timeout_s = max_timeout_s
        self._keep_applied = keep_applied
        self._clock = clock

    def handle(self, topic_name: str, payload: bytes, received_ms: Optional[int] = None) -> Optional[Result]:
        """Process one cmd message; returns the queued Result (None when the payload was unusable)."""
        try:
            _, env = decode_from(topic_name, payload)
        except ProtocolError as exc:
            self._bad_command(topic_name, exc)
            return None
        if not isinstance(env.body, Command):
            self._bad_command(topic_name, ProtocolError(f"expected a command, got {env.kind.value}"))
            return None
        try:
            result = self._execute(env, env.body, received_ms or self._clock())
        except AlreadyApplied as done:
            result = Result(command_id=env.id, status="already_applied", output={"previous": done.previous})
            self._queue(result)
            return result
        return self._commit(result)

    def _execute(self, env: Envelope, cmd: Command, received_ms: int) -> Result:
        previous = self._store.applied_result(env.id)
        if previous is not None:
            log.info("%s: command %s (%s) already applied", self._device_id, env.id, cmd.name)
            raise AlreadyApplied(env.id, previous)
        if cmd.expires_at < self._clock():
            log.info("%s: command %s (%s) expired at %d", self._device_id, env.id, cmd.name, cmd.expires_at)
            return Result(command_id=env.id, status="expired", error=f"expired at {cmd.expires_at} ms")
        handler = self._handlers.get(cmd.name)
        if handler is None:
            known = ", ".join(sorted(self._handlers))
            return Result(
                command_id=env.id, status="rejected", error=f"unknown command {cmd.name!r}; known: {known}"
            )
        ctx = CommandContext(
            command_id=env.id, name=cmd.name, args=dict(cmd.args), sent_ms=env.ts, received_ms=received_ms
        )
        return self._run(handler, ctx, self._timeout(cmd))

    def _timeout(self, cmd: Command) -> float:
        wanted = cmd.timeout_s if cmd.timeout_s > 0 else self._tunables.command_timeout_s
        return min(wanted, self._max_timeout_s)

    def _run(self, handler: Handler, ctx: CommandContext, timeout_s: float) -> Result:
        box: Dict[str, Any] = {}

        def target() -> None:
            try:
                box["output"] = handler(ctx)
            except CommandRejected as exc:  # bad arguments: the sender must fix them, not retry
                box["rejected"] = str(exc)
            except Exception as exc:  # the handler's failure becomes the result, not an agent crash
                box["error"] = f"{type(exc).__name__}: {exc}"

        # A handler cannot be killed, only told to stop: it runs on its own daemon thread so the worker
        # can answer "timeout" and go on with the next command.
        worker = threading.Thread(target=target, name=f"cmd-{ctx.name}", daemon=True)
        worker.start()
        worker.join(timeout_s)
        if worker.is_alive():
            ctx.cancel.set()
            log.warning(
                "%s: command %s (%s) timed out after %.1fs",
                self._device_id,
                ctx.command_id,
                ctx.name,
                timeout_s,
            )
            return Result(
                command_id=ctx.command_id, status="timeout", error=f"no result within {timeout_s:g}s"
            )
        if "rejected" in box:
            log.warning(
                "%s: command %s (%s) rejected: %s", self._device_id, ctx.command_id, ctx.name, box["rejected"]
            )
            return Result(command_id=ctx.command_id, status="rejected", error=str(box["rejected"]))
        if "error" in box:
            log.warning(
                "%s: command %s (%s) failed: %s", self._device_id, ctx.command_id, ctx.name, box["error"]
            )
            return Result(command_id=ctx.command_id, status="failed", error=str(box["error"]))
        return Result(command_id=ctx.command_id, status="ok", output=dict(box.get("output") or {}))

    def _commit(self, result: Result) -> Result:
        """Remember the id and queue the result in one transaction: a crash leaves both or neither."""
        payload, result = self._encode(result)
        with self._store.transaction():
            self._store.record_applied(
                result.command_id, result.status, body_to_dict(result), keep=self._keep_applied
            )
            self._outbox.put("result", topic(self._device_id, Channel.RESULT), payload)
        log.info("%s: command %s -> %s", self._device_id, result.command_id, result.status)
        return result

    def _queue(self, result: Result) -> None:
        payload, _ = self._encode(result)
        self._outbox.put("result", topic(self._device_id, Channel.RESULT), payload)

    def _encode(self, result: Result) -> Tuple[bytes, Result]:
        """Encoded result; an output that is too large or not JSON turns the result into "failed"."""
        try:
            return encode(make(self._device_id, result)), result
        except (PayloadTooLarge, TypeError, ValueError) as exc:
            failed = Result(
                command_id=result.command_id, status="failed", error=f"unusable output: {exc}"[:2000]
            )
            return encode(make(self._device_id, failed)), failed

    def _bad_command(self, topic_name: str, exc: ProtocolError) -> None:
        log.warning("%s: undecodable command on %s: %s", self._device_id, topic_name, exc)
        event = Event(
            name=names.BAD_COMMAND, severity="warning", detail={"topic": topic_name, "error": str(exc)[:500]}
        )
        self._outbox.put("event", topic(self._device_id, Channel.EVENT), encode(make(self._device_id, event)))
