"""Mosquitto integration: config, password + ACL files rendered from the registry, SIGHUP reload."""

from .accounts import BrokerAccount, BrokerAccountFiles, render_acl
from .config import BrokerConfig, render_config, write_config
from .errors import BrokerAccountError, BrokerError, BrokerReloadError
from .passwords import generate_password, hash_password, verify_password
from .service_accounts import ServiceAccount, in_controller_namespace, service_accounts, worker_username

__all__ = [
    "BrokerAccount",
    "BrokerAccountError",
    "BrokerAccountFiles",
    "BrokerConfig",
    "BrokerError",
    "BrokerReloadError",
    "ServiceAccount",
    "generate_password",
    "hash_password",
    "in_controller_namespace",
    "render_acl",
    "render_config",
    "service_accounts",
    "verify_password",
    "worker_username",
    "write_config",
]
