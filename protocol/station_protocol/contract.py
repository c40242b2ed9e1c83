"""The registry of every command and event name that crosses the wire, with strict decode and encode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Type

from . import bounds as b
from . import codec as c
from . import commands as cmd
from . import portal as p
from . import sync as s
from .errors import MalformedMessage


@dataclass(frozen=True)
class CommandSpec:
    name: str
    args: Optional[Type[Any]]  # None: free-form (ping); codec.Empty: takes no arguments
    output: Type[Any]


@dataclass(frozen=True)
class EventSpec:
    name: str
    body: Type[Any]


COMMANDS: Dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(cmd.PING, None, cmd.PingOutput),
        CommandSpec(cmd.REBOOT, c.Empty, cmd.RebootOutput),
        CommandSpec(cmd.DIAGNOSTICS, c.Empty, cmd.DiagnosticsOutput),
        CommandSpec(p.ALLOW, p.AllowArgs, p.AllowOutput),
        CommandSpec(p.REVOKE, p.RevokeArgs, p.RevokeOutput),
        CommandSpec(p.EXTEND, p.ExtendArgs, p.ExtendOutput),
        CommandSpec(p.SESSIONS, c.Empty, p.SessionsOutput),
        CommandSpec(s.SYNC, s.SyncArgs, s.JobSummary),
        CommandSpec(s.CANCEL, s.CancelArgs, s.CancelOutput),
        CommandSpec(s.STATUS, c.Empty, s.StatusOutput),
    )
}
EVENTS: Dict[str, EventSpec] = {
    spec.name: spec
    for spec in (
        EventSpec(p.ACCOUNTING, p.Accounting),
        EventSpec(p.SESSION_ENDED, p.SessionEnded),
        EventSpec(s.PROGRESS, s.Progress),
        EventSpec(s.DONE, s.Done),
        EventSpec(s.FAILED, s.Failed),
    )
}


def _command(name: str) -> CommandSpec:
    try:
        return COMMANDS[name]
    except KeyError:
        raise MalformedMessage(f"body.name: unknown command {name[:64]!r}") from None


def decode_args(name: str, args: Mapping[str, Any]) -> Any:
    """Typed arguments of command ``name``; MalformedMessage (or a bound error) names the field."""
    spec = _command(name)
    if spec.args is None:
        b.check_tree(dict(args), "args", b.ARGS)
        return cmd.PingArgs(dict(args))
    return c.decode(spec.args, args, "args")


def decode_output(name: str, output: Mapping[str, Any]) -> Any:
    """Typed output of a result of command ``name`` (unknown keys ignored: newer agents may add some)."""
    return c.decode(_command(name).output, output, "output", strict=False)


def decode_event(name: str, detail: Mapping[str, Any]) -> Any:
    try:
        spec = EVENTS[name]
    except KeyError:
        raise MalformedMessage(f"body.name: unknown event {name[:64]!r}") from None
    return c.decode(spec.body, detail, "detail", strict=False)


def encode(value: Any) -> Dict[str, Any]:
    """JSON-ready args/output/event detail of a contract dataclass."""
    if isinstance(value, cmd.PingArgs):
        return dict(value.payload)
    out = c.encode(value)
    assert isinstance(out, dict)
    return out
