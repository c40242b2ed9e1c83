"""Re-render Mosquitto's password file from the registry (controller account + every enrolled device)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..broker.accounts import BrokerAccount, BrokerAccountFiles
from ..broker.passwords import hash_password
from ..registry.models import Device
from ..settings import Settings

log = logging.getLogger(__name__)

# Two requests in one process must not interleave "read accounts, write file": the later writer could
# drop the earlier one's device. Several controller processes need a DB lock instead (see docs).
SYNC_LOCK = threading.Lock()


def account_files(settings: Settings) -> BrokerAccountFiles:
    assert settings.broker_password_file is not None
    assert settings.broker_acl_file is not None
    return BrokerAccountFiles(
        password_file=settings.broker_password_file,
        acl_file=settings.broker_acl_file,
        pid_file=settings.broker_pid_file,
        service_users=[settings.mqtt_username],
    )


def broker_accounts(session: Session, *, settings: Settings) -> list[BrokerAccount]:
    """The controller's own account plus every enrolled device with a password (as the session sees it)."""
    accounts = [
        BrokerAccount(settings.mqtt_username, hash_password(settings.mqtt_password.get_secret_value()))
    ]
    stmt = select(Device.id, Device.mqtt_password_hash).where(
        Device.status == "enrolled", Device.mqtt_password_hash.is_not(None)
    )
    accounts += [BrokerAccount(dev, pw) for dev, pw in session.execute(stmt.order_by(Device.id)) if pw]
    return accounts


def sync_broker(session: Session, *, settings: Settings) -> int:
    """Write the password + ACL files and SIGHUP the broker; returns the number of device accounts.

    Call with ``SYNC_LOCK`` held when the change is not committed yet, and commit before releasing it.
    """
    accounts = broker_accounts(session, settings=settings)
    account_files(settings).write(accounts)
    log.info("broker files rewritten with %d device accounts", len(accounts) - 1)
    return len(accounts) - 1
