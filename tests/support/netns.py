"""Network namespaces, veth pairs, bridges, addresses and routes for multi-host tests on one machine."""

from __future__ import annotations

import ctypes
import ipaddress
import logging
import os
import secrets
import signal
import subprocess  # noqa: S404 - tests drive `ip`, `sysctl` and processes inside namespaces
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import httpx

logger = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(RuntimeError):
    """A namespace command failed; the message holds the command and what it printed."""


def ns_argv(ns: str | None, argv: Sequence[str]) -> list[str]:
    """``argv`` prefixed with ``ip netns exec ns`` (unchanged for ``None``: the root namespace)."""
    return list(argv) if ns is None else ["ip", "netns", "exec", ns, *argv]


def run_in(
    ns: str | None,
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 30.0,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside ``ns`` to completion and return its output.

    Raises:
        NetnsError: ``check`` is true and it exited non-zero or timed out.
    """
    full = ns_argv(ns, argv)
    try:
        done = subprocess.run(  # noqa: S603 - argv built by test code, no shell
            full,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=dict(env) if env is not None else None,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise NetnsError(f"{' '.join(full)} timed out after {timeout:g}s") from exc
    if check and done.returncode != 0:
        raise NetnsError(f"{' '.join(full)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def popen_in(
    ns: str | None,
    argv: Sequence[str],
    *,
    log_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` inside ``ns`` in its own session; output goes to ``log_file`` (else discarded)."""
    out: IO[bytes] | int = subprocess.DEVNULL
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        out = log_file.open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - argv built by test code, no shell
            ns_argv(ns, argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    finally:
        if not isinstance(out, int):
            out.close()


def stop_process(proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal ``proc`` (one we started), wait, SIGKILL if it hangs; a finished process is a no-op."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        logger.warning("pid %d ignored signal %d; killing it", proc.pid, sig)
        proc.kill()
        proc.wait(timeout=timeout)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsError(f"setns failed: {os.strerror(err)} (run the tests as root)")


@contextmanager
def entered(ns: str) -> Iterator[None]:
    """Move the calling thread into ``ns`` for the block; sockets and processes made there stay there.

    Only this thread moves (setns on a thread), so other threads keep their namespace.
    """
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(NETNS_DIR / ns, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


class NetnsLab:
    """Namespaces named ``{prefix}-{role}``; ``close()`` deletes them all, also after a failure.

    Every process still inside one of them at close is one the test started there, so it is killed.
    """

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix or f"sfp-{secrets.token_hex(3)}"
        self.namespaces: list[str] = []

    def __enter__(self) -> NetnsLab:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def name(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def add(self, role: str) -> str:
        """Create the namespace for ``role`` with loopback up; returns its name."""
        ns = self.name(role)
        run_in(None, ["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        run_in(ns, ["ip", "link", "set", "lo", "up"])
        return ns

    def veth(self, a_ns: str, a_if: str, b_ns: str, b_if: str) -> None:
        """A veth pair ``a_ns:a_if`` ↔ ``b_ns:b_if``, both ends up."""
        tmp_a, tmp_b = f"v{secrets.token_hex(4)}", f"v{secrets.token_hex(4)}"
        run_in(None, ["ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b])
        for tmp, ns, ifname in ((tmp_a, a_ns, a_if), (tmp_b, b_ns, b_if)):
            run_in(None, ["ip", "link", "set", tmp, "netns", ns])
            run_in(ns, ["ip", "link", "set", tmp, "name", ifname])
            run_in(ns, ["ip", "link", "set", ifname, "up"])

    def bridge(self, ns: str, name: str, ports: Sequence[str]) -> None:
        """A Linux bridge without STP (ports forward at once) holding ``ports``."""
        run_in(ns, ["ip", "link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
        for port in ports:
            run_in(ns, ["ip", "link", "set", port, "master", name])
        run_in(ns, ["ip", "link", "set", name, "up"])

    def address(self, ns: str, ifname: str, cidr: str) -> None:
        """Add an IPv4 or IPv6 address (IPv6 without duplicate detection, so usable at once)."""
        extra = ["nodad"] if ipaddress.ip_interface(cidr).version == 6 else []
        run_in(ns, ["ip", "addr", "add", cidr, "dev", ifname, *extra])

    def route(self, ns: str, dest: str, via: str) -> None:
        family = "-6" if ipaddress.ip_address(via).version == 6 else "-4"
        run_in(ns, ["ip", family, "route", "add", dest, "via", via])

    def sysctl(self, ns: str, key: str, value: str) -> None:
        run_in(ns, ["sysctl", "-q", "-w", f"{key}={value}"])

    def mac(self, ns: str, ifname: str) -> str:
        """The interface's MAC address (``ip netns exec`` mounts the namespace's own /sys)."""
        return run_in(ns, ["cat", f"/sys/class/net/{ifname}/address"]).stdout.strip()

    def pids(self, ns: str) -> list[int]:
        out = run_in(None, ["ip", "netns", "pids", ns], check=False).stdout
        return [int(p) for p in out.split()]

    def close(self) -> None:
        """Kill what still runs inside our namespaces, then delete them (veth peers go with them)."""
        while self.namespaces:
            ns = self.namespaces.pop()
            for pid in self.pids(ns):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            done = run_in(None, ["ip", "netns", "del", ns], check=False)
            if done.returncode != 0:
                logger.warning("could not delete namespace %s: %s", ns, done.stderr.strip())


class NsTransport(httpx.BaseTransport):
    """An httpx transport whose connections are opened inside ``ns`` (they stay there when reused)."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with entered(self.ns):
            return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def ns_http_client(ns: str, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` that talks from inside ``ns`` (no proxies from the environment)."""
    return httpx.Client(transport=NsTransport(ns), trust_env=False, **kwargs)
