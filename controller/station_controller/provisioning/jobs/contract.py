"""The action contract: what a provisioning action gets for one device and what it returns."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy.orm import Session, sessionmaker

from ...settings import Settings
from ..errors import UnknownAction

log = logging.getLogger(__name__)

Status = Literal["ok", "changed", "failed", "unreachable"]
STATUSES: tuple[Status, ...] = ("ok", "changed", "failed", "unreachable")


@dataclass(frozen=True)
class DeviceOutcome:
    """One device's result; ``reason`` says what to do next when it failed."""

    status: Status
    reason: str = ""
    diff: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceTarget:
    """The device as an action sees it: registry facts plus how to reach it (provisioning_targets)."""

    device_id: str
    role: str
    serial: str
    station_code: str
    station_name: str
    region_path: str
    tags: tuple[str, ...] = ()
    host: str | None = None
    port: int = 22
    username: str | None = None
    profile: str | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    status: str = "pending"  # registry status: pending | enrolled | revoked


class Secrets(Protocol):
    """The device's secrets; every value read is masked in logs from then on."""

    def password(self) -> str | None: ...

    def private_key(self) -> str | None: ...

    def named(self, name: str) -> str: ...


@dataclass(frozen=True)
class ActionContext:
    job_id: int
    device: DeviceTarget
    secrets: Secrets
    dry_run: bool
    params: Mapping[str, Any]
    log: Callable[[str], None]
    attempt: int = 1


class Action(Protocol):
    """Run once per device in a worker thread; must be idempotent (a resumed device runs again)."""

    name: str

    def run(self, ctx: ActionContext) -> DeviceOutcome: ...


@dataclass(frozen=True)
class ActionDeps:
    """What action factories may use."""

    settings: Settings
    session_factory: sessionmaker[Session]


class ActionRegistry:
    """Actions by name; jobs name their action."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def add(self, action: Action) -> None:
        self._actions[action.name] = action

    def get(self, name: str) -> Action:
        try:
            return self._actions[name]
        except KeyError:
            known = ", ".join(sorted(self._actions)) or "none"
            raise UnknownAction(f"no action named {name!r} (registered: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._actions)


def _action_modules() -> list[str]:
    """``provisioning.actions`` and every ``provisioning.<sub>.actions`` module that exists."""
    package = importlib.import_module("station_controller.provisioning")
    names = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name == "actions":
            names.append(f"{package.__name__}.actions")
        elif info.ispkg:
            sub = importlib.import_module(f"{package.__name__}.{info.name}")
            if any(m.name == "actions" for m in pkgutil.iter_modules(sub.__path__)):
                names.append(f"{sub.__name__}.actions")
    return sorted(names)


def discover_actions(deps: ActionDeps) -> ActionRegistry:
    """Build the registry from every ``actions.register(registry, deps)`` in the provisioning package."""
    registry = ActionRegistry()
    for name in _action_modules():
        register = getattr(importlib.import_module(name), "register", None)
        if register is not None:
            register(registry, deps)
    log.info("provisioning actions: %s", ", ".join(registry.names()) or "none")
    return registry
