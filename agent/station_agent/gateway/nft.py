"""The only module that runs ``nft``: argument lists, rulesets on stdin (``nft -f -``), JSON listings."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Protocol, Sequence, Tuple

from ..process import CannotRun, run_tool
from . import ruleset
from .errors import GatewayError, ToolFailed
from .ruleset import Client
from .validate import PortalConfig

log = logging.getLogger(__name__)

MISSING = "No such file or directory"


class NftRunner(Protocol):
    def run(self, args: Sequence[str], stdin: str = "") -> str:
        """Run ``nft <args>`` with ``stdin``; returns stdout. Raises ToolFailed on a non-zero exit."""
        ...


class SubprocessNft:
    """Runs the real ``nft``; ``command`` may carry a prefix such as ``ip netns exec <ns> nft``."""

    def __init__(self, command: Sequence[str] = ("nft",), *, timeout_s: float = 15.0) -> None:
        self._command = tuple(command)
        self._timeout_s = timeout_s

    def run(self, args: Sequence[str], stdin: str = "") -> str:
        argv = [*self._command, *args]
        try:
            proc = run_tool(argv, stdin=stdin, timeout_s=self._timeout_s)  # the ruleset text is validated
        except CannotRun as exc:
            raise GatewayError(f"cannot run {argv[0]}: {exc}; is nftables installed?") from None
        if proc.returncode != 0:
            raise ToolFailed(argv, proc.returncode, proc.stderr)
        return proc.stdout


@dataclass(frozen=True)
class Counters:
    """Byte counters read from the kernel: upload by (mac, ip), download by ip."""

    up: Dict[Tuple[str, str], int] = field(default_factory=dict)
    down: Dict[str, int] = field(default_factory=dict)


def parse_counters(text: str) -> Counters:
    """Element counters of ``auth_up``/``auth_down`` from ``nft -j list table inet station_portal``."""
    up: Dict[Tuple[str, str], int] = {}
    down: Dict[str, int] = {}
    for item in json.loads(text).get("nftables", []):
        found = item.get("set") if isinstance(item, dict) else None
        if not isinstance(found, dict) or found.get("name") not in ("auth_up", "auth_down"):
            continue
        for elem in found.get("elem", []):
            value, count = _element(elem)
            if isinstance(value, list) and len(value) == 2:
                up[(str(value[0]).lower(), str(value[1]))] = count
            elif isinstance(value, str):
                down[value] = count
    return Counters(up=up, down=down)


def _element(elem: Any) -> Tuple[Any, int]:
    inner = elem.get("elem", {}) if isinstance(elem, dict) else {}
    value = inner.get("val")
    if isinstance(value, dict):
        value = value.get("concat")
    counter = inner.get("counter") or {}
    return value, int(counter.get("bytes", 0))


class Firewall:
    """The portal table: atomic full loads, per-client element changes, counter reads."""

    def __init__(self, runner: NftRunner) -> None:
        self._runner = runner

    def load(self, cfg: PortalConfig, clients: Sequence[Client]) -> None:
        """Replace the whole table in one transaction (the old one stays if this fails)."""
        self._runner.run(["-f", "-"], ruleset.render_table(cfg, clients))

    def delete(self) -> None:
        self._runner.run(["-f", "-"], ruleset.render_delete())

    def add_clients(self, clients: Sequence[Client]) -> None:
        if clients:
            self._runner.run(["-f", "-"], ruleset.render_add_clients(clients))

    def remove_clients(self, clients: Sequence[Client]) -> None:
        if clients:
            self._runner.run(["-f", "-"], ruleset.render_delete_clients(clients))

    def counters(self) -> Optional[Counters]:
        """Current counters, or None when the table is gone (someone flushed the ruleset)."""
        try:
            text = self._runner.run(["-j", "list", "table", ruleset.FAMILY, ruleset.TABLE])
        except ToolFailed as exc:
            if MISSING in exc.stderr:
                return None
            raise
        return parse_counters(text)
