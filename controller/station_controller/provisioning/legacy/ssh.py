"""The only netmiko (and paramiko) importer: an SSH session to a legacy router behind a small Protocol."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import paramiko  # type: ignore[import-untyped]
from netmiko import ConnectHandler
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)

from ..secrets import REDACTING_FILTER
from .errors import RouterAuthFailed, RouterCommandRejected, RouterUnreachable

log = logging.getLogger(__name__)
# netmiko's debug log echoes what is typed; mask any secret a job decrypted, as for our own loggers.
for _name in (__name__, "netmiko", "paramiko"):
    logging.getLogger(_name).addFilter(REDACTING_FILTER)


@dataclass(frozen=True)
class SshParams:
    """How to reach one router; secrets are excluded from ``repr`` so they never reach a log line."""

    device_id: str
    device_type: str  # netmiko device_type: linux, huawei, hp_comware, ruijie_os
    host: str
    port: int = 22
    username: str = "root"
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)  # OpenSSH/PEM text
    conn_timeout_s: float = 10.0
    auth_timeout_s: float = 10.0
    read_timeout_s: float = 30.0


class RouterConnection(Protocol):
    """An open session: exec commands, config-mode lines, the vendor's own save, close."""

    def run(self, command: str) -> str: ...

    def configure(self, lines: Sequence[str], *, error_pattern: str) -> str: ...

    def save(self) -> str: ...

    def close(self) -> None: ...


class RouterConnector(Protocol):
    """Opens sessions; tests of the orchestration layer pass a fake, the integration test the real one."""

    def connect(self, params: SshParams) -> RouterConnection: ...


def _load_key(text: str) -> paramiko.PKey:
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise RouterAuthFailed("the stored SSH key is not an unencrypted Ed25519, ECDSA or RSA private key")


class NetmikoConnection:
    """RouterConnection over one netmiko session; netmiko's exceptions become ours."""

    def __init__(self, params: SshParams, handler: Any) -> None:
        self._params = params
        self._handler = handler

    def run(self, command: str) -> str:
        try:
            return str(self._handler.send_command(command, read_timeout=self._params.read_timeout_s))
        except (ReadTimeout, OSError, EOFError) as exc:
            raise RouterUnreachable(f"{self._params.device_id}: no answer to {command!r}: {exc}") from exc

    def configure(self, lines: Sequence[str], *, error_pattern: str) -> str:
        try:
            return str(
                self._handler.send_config_set(
                    list(lines), error_pattern=error_pattern, read_timeout=self._params.read_timeout_s
                )
            )
        except ConfigInvalidException as exc:
            raise RouterCommandRejected("config line", str(exc)) from exc
        except (ReadTimeout, OSError, EOFError) as exc:
            raise RouterUnreachable(f"{self._params.device_id}: config mode timed out: {exc}") from exc

    def save(self) -> str:
        try:
            return str(self._handler.save_config())
        except (ReadTimeout, OSError, EOFError) as exc:
            raise RouterUnreachable(f"{self._params.device_id}: save timed out: {exc}") from exc

    def close(self) -> None:
        try:
            self._handler.disconnect()
        except (OSError, EOFError):
            log.debug("%s: disconnect failed (already closed)", self._params.device_id)


class NetmikoConnector:
    """The real connector: a netmiko ConnectHandler per session; no session log (it would hold secrets)."""

    def connect(self, params: SshParams) -> RouterConnection:
        kwargs: dict[str, Any] = {
            "device_type": params.device_type,
            "host": params.host,
            "port": params.port,
            "username": params.username,
            "password": params.password or "",
            "conn_timeout": params.conn_timeout_s,
            "auth_timeout": params.auth_timeout_s,
            "banner_timeout": params.conn_timeout_s,
            "allow_agent": False,
            "ssh_config_file": None,
        }
        if params.private_key:
            kwargs["pkey"] = _load_key(params.private_key)  # look_for_keys stays off: only this key
        log.info(
            "%s: ssh %s@%s:%d (%s)",
            params.device_id,
            params.username,
            params.host,
            params.port,
            params.device_type,
        )
        try:
            return NetmikoConnection(params, ConnectHandler(**kwargs))
        except NetmikoAuthenticationException as exc:
            raise RouterAuthFailed(
                f"{params.device_id}: {params.username}@{params.host} refused the stored credentials; "
                "update the target's secret"
            ) from exc
        except (NetmikoTimeoutException, socket.error, paramiko.SSHException, EOFError) as exc:
            raise RouterUnreachable(
                f"{params.device_id}: cannot open SSH to {params.host}:{params.port} ({exc}); "
                "check the address and that the router is powered and linked"
            ) from exc
