"""Broker errors.

BrokerError
 ├── BrokerAccountError  an account cannot be written (bad username or hash; permanent: fix the input)
 └── BrokerReloadError   the broker exists but cannot be signalled (permanent: run the controller as the
                         broker's user or as root)
"""

from __future__ import annotations

from ..errors import StationError


class BrokerError(StationError):
    """Base of everything the broker package raises."""


class BrokerAccountError(BrokerError, ValueError):
    """A username or password hash that Mosquitto's password file cannot hold."""


class BrokerReloadError(BrokerError):
    """The broker's pid is known and alive but we may not send it SIGHUP."""
