"""The only ansible_runner importer: runs one playbook against one host behind ``PlaybookRunner``."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import ansible_runner

from .secrets import REDACTING_FILTER

log = logging.getLogger(__name__)
log.addFilter(REDACTING_FILTER)

PlayStatus = Literal["ok", "changed", "failed", "unreachable"]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class PlaybookRequest:
    """One playbook run limited to one host; ``private_key`` is written 0600 and deleted afterwards."""

    playbook: Path
    host: str
    hostvars: Mapping[str, Any]
    extravars: Mapping[str, Any] = field(default_factory=dict)
    private_key: str | None = None
    check: bool = False
    timeout_s: float = 900.0
    known_hosts: Path | None = None


@dataclass(frozen=True)
class PlaybookResult:
    status: PlayStatus
    reason: str = ""
    changed_tasks: tuple[str, ...] = ()
    diff: str = ""


class PlaybookRunner(Protocol):
    def run(self, request: PlaybookRequest, on_line: Callable[[str], None]) -> PlaybookResult: ...


def _ssh_args(known_hosts: Path | None) -> str:
    # Trust on first use, then refuse a changed host key (a swapped box must be re-registered).
    args = "-o StrictHostKeyChecking=accept-new -o ConnectTimeout=10"
    return f"{args} -o UserKnownHostsFile={known_hosts}" if known_hosts else args


class _Collector:
    """ansible-runner event handler: streams output lines and remembers changes and failures."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.changed: list[str] = []
        self.diffs: list[str] = []
        self.failure = ""

    def __call__(self, event: Mapping[str, Any]) -> bool:
        for line in _ANSI.sub("", str(event.get("stdout") or "")).splitlines():
            if line.strip():
                self.on_line(line)
        data = event.get("event_data") or {}
        res = data.get("res") or {}
        kind = event.get("event", "")
        if kind == "runner_on_ok" and isinstance(res, dict) and res.get("changed"):
            self.changed.append(str(data.get("task", "")))
            self.diffs += _diff_text(res.get("diff"))
        if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            msg = _failure_message(res)
            self.failure = f"{data.get('task', '')}: {msg}".strip(": ")
        return True


def _failure_message(res: Any) -> str:
    if not isinstance(res, dict):
        return str(res)
    items = [r for r in res.get("results") or [] if isinstance(r, dict) and r.get("failed")]
    parts = [str(res.get("msg", ""))] + [str(r.get("msg", "")) for r in items[:3]]
    return "; ".join(p for p in parts if p)


def _diff_text(diff: Any) -> list[str]:
    items = diff if isinstance(diff, list) else [diff] if diff else []
    out = []
    for item in items:
        if isinstance(item, dict):
            name = item.get("after_header") or item.get("before_header") or ""
            before, after = item.get("before", ""), item.get("after", "")
            if isinstance(before, str) and isinstance(after, str) and before != after:
                out.append(f"--- {name}\n-{before}\n+{after}")
    return out


class AnsibleRunner:
    """``PlaybookRunner`` with ansible-runner and the ansible-playbook next to this interpreter."""

    def __init__(self, *, work_dir: Path) -> None:
        self.work_dir = work_dir

    def run(self, request: PlaybookRequest, on_line: Callable[[str], None]) -> PlaybookResult:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        private = Path(tempfile.mkdtemp(prefix="run-", dir=self.work_dir))
        try:
            return self._run(request, on_line, private)
        finally:
            shutil.rmtree(private, ignore_errors=True)

    def _run(self, request: PlaybookRequest, on_line: Callable[[str], None], private: Path) -> PlaybookResult:
        hostvars = {**request.hostvars, "ansible_ssh_common_args": _ssh_args(request.known_hosts)}
        if request.private_key:
            key = private / "id_key"
            key.write_text(request.private_key.rstrip("\n") + "\n", encoding="utf-8")
            key.chmod(0o600)
            hostvars["ansible_ssh_private_key_file"] = str(key)
        collector = _Collector(on_line)
        result = ansible_runner.run(
            private_data_dir=str(private),
            playbook=str(request.playbook.resolve()),
            inventory={"all": {"hosts": {request.host: hostvars}}},
            extravars=dict(request.extravars),
            cmdline="--check --diff" if request.check else "--diff",
            limit=request.host,
            event_handler=collector,
            quiet=True,
            timeout=int(request.timeout_s),
            envvars=_env(private),
        )
        return _result(result, request.host, collector)


def _env(private: Path) -> dict[str, str]:
    return {
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(private / "tmp"),
        "ANSIBLE_REMOTE_TEMP": "~/.ansible/tmp",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _result(result: Any, host: str, collector: _Collector) -> PlaybookResult:
    stats: Mapping[str, Mapping[str, int]] = result.stats or {}
    changed = tuple(collector.changed)
    diff = "\n".join(collector.diffs)
    if stats.get("dark", {}).get(host):
        return PlaybookResult("unreachable", collector.failure or "host unreachable over SSH", changed, diff)
    if result.status == "timeout":
        return PlaybookResult(
            "failed", "the playbook timed out (STATION_PROVISIONING_ANSIBLE_TIMEOUT_S)", changed, diff
        )
    if result.status != "successful" or stats.get("failures", {}).get(host):
        return PlaybookResult(
            "failed", collector.failure or f"ansible-playbook ended {result.status}", changed, diff
        )
    return PlaybookResult("changed" if changed else "ok", "", changed, diff)
