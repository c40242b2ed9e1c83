"""Mosquitto integration: config, password + ACL files rendered from the registry, SIGHUP reload."""

from .accounts import BrokerAccount, BrokerAccountFiles, render_acl
from .config import BrokerConfig, render_config, write_config
from .errors import BrokerAccountError, BrokerError, BrokerReloadError
from .passwords import generate_password, hash_password, verify_password

__all__ = [
    "BrokerAccount",
    "BrokerAccountError",
    "BrokerAccountFiles",
    "BrokerConfig",
    "BrokerError",
    "BrokerReloadError",
    "generate_password",
    "hash_password",
    "render_acl",
    "render_config",
    "verify_password",
    "write_config",
]
