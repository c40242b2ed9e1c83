"""The controller's own broker accounts: one per controller process, each with its own session.

The broker binds the client id to the username (``use_username_as_clientid``), so the account *is*
the session: two processes sharing one account would keep disconnecting each other and share one
durable queue. The main ``serve`` process uses ``STATION_MQTT_USERNAME`` (default ``controller``);
every ``serve --only ingest --worker NAME`` uses ``<username>-NAME``. Worker passwords are derived
from ``STATION_MQTT_PASSWORD`` with HMAC-SHA256, so one secret configures them all while every
account still has its own password line; controller processes trust each other (they share the
registry database), the separate accounts are about identity and sessions, not mutual distrust.

Everything named ``<username>`` or ``<username>-…`` belongs to the controller: a device account with
such a name is never written to the password file (device ids are ``<role>-…`` anyway).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import BrokerAccountError

WORKER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_DERIVATION_LABEL = b"station-fleet broker account v1:"


@dataclass(frozen=True)
class ServiceAccount:
    """One controller process's broker login (username = client id)."""

    username: str
    password: str = field(repr=False)


def worker_username(root: str, worker: str) -> str:
    """``<root>-<worker>``, the account (and client id) of one extra ingest worker.

    Raises:
        BrokerAccountError: ``worker`` is not 1-32 of ``[a-z0-9-]`` starting with a letter or digit.
    """
    if not WORKER_NAME.match(worker):
        raise BrokerAccountError(
            f"ingest worker name {worker!r}: use 1-32 of [a-z0-9-], starting with a letter or digit"
        )
    return f"{root}-{worker}"


def derive_password(master: str, username: str) -> str:
    """The password of ``username``, derived from the controller's broker secret (stable, 256 bits)."""
    digest = hmac.new(master.encode("utf-8"), _DERIVATION_LABEL + username.encode("utf-8"), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")


def service_accounts(root: str, master: str, workers: Sequence[str]) -> list[ServiceAccount]:
    """The main process's account (``root`` with ``master`` as password), then one per worker.

    Raises:
        BrokerAccountError: a worker name is invalid or listed twice.
    """
    if len(set(workers)) != len(workers):
        raise BrokerAccountError(f"ingest worker names must be unique: {list(workers)}")
    accounts = [ServiceAccount(root, master)]
    for worker in workers:
        username = worker_username(root, worker)
        accounts.append(ServiceAccount(username, derive_password(master, username)))
    return accounts


def in_controller_namespace(username: str, root: str) -> bool:
    """True for ``root`` and every ``root-…`` name: reserved for controller processes."""
    return username == root or username.startswith(f"{root}-")
