"""Re-render Mosquitto's password file from the registry (controller accounts + every enrolled device)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..broker.accounts import BrokerAccount, BrokerAccountFiles
from ..broker.errors import BrokerAccountError
from ..broker.passwords import hash_password
from ..broker.service_accounts import ServiceAccount, in_controller_namespace, service_accounts
from ..registry.models import Device
from ..registry.service import ROLES
from ..settings import Settings

log = logging.getLogger(__name__)

# Two requests in one process must not interleave "read accounts, write file": the later writer could
# drop the earlier one's device. Several controller processes need a DB lock instead (see docs).
SYNC_LOCK = threading.Lock()


def controller_accounts(settings: Settings) -> list[ServiceAccount]:
    """The main process's broker account, then one per ``mqtt_ingest_workers`` entry.

    Raises:
        BrokerAccountError: the controller's name space would hold device ids (``stb``, ``router-x``).
    """
    root = settings.mqtt_username
    if any(root == role or root.startswith(f"{role}-") for role in ROLES):
        raise BrokerAccountError(
            f"STATION_MQTT_USERNAME {root!r} would cover device ids ({', '.join(ROLES)}-…); "
            "use e.g. 'controller'"
        )
    return service_accounts(
        settings.mqtt_username, settings.mqtt_password.get_secret_value(), settings.mqtt_ingest_workers
    )


def account_files(settings: Settings) -> BrokerAccountFiles:
    assert settings.broker_password_file is not None
    assert settings.broker_acl_file is not None
    return BrokerAccountFiles(
        password_file=settings.broker_password_file,
        acl_file=settings.broker_acl_file,
        pid_file=settings.broker_pid_file,
        service_users=[account.username for account in controller_accounts(settings)],
    )


def broker_accounts(session: Session, *, settings: Settings) -> list[BrokerAccount]:
    """Every controller process's account plus every enrolled device with a password (as the session sees it).

    A device named like a controller account (``controller``, ``controller-…``) is left out: it would
    share the controller's client id, session and ACL. The registry never derives such an id.
    """
    accounts = [BrokerAccount(a.username, hash_password(a.password)) for a in controller_accounts(settings)]
    stmt = select(Device.id, Device.mqtt_password_hash).where(
        Device.status == "enrolled", Device.mqtt_password_hash.is_not(None)
    )
    for device_id, password_hash in session.execute(stmt.order_by(Device.id)):
        if not password_hash:
            continue
        if in_controller_namespace(device_id, settings.mqtt_username):
            log.error(
                "%s: device id is in the controller's account namespace; not given a broker account",
                device_id,
            )
            continue
        accounts.append(BrokerAccount(device_id, password_hash))
    return accounts


def sync_broker(session: Session, *, settings: Settings) -> int:
    """Write the password + ACL files and SIGHUP the broker; returns the number of device accounts.

    Call with ``SYNC_LOCK`` held when the change is not committed yet, and commit before releasing it.
    """
    accounts = broker_accounts(session, settings=settings)
    account_files(settings).write(accounts)
    devices = len(accounts) - len(controller_accounts(settings))
    log.info("broker files rewritten with %d device accounts", devices)
    return devices
