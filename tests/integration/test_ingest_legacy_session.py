"""The broker session an older controller left behind (client id ``controller-<hostname>``) at upgrade.

Since the broker binds the client id to the account (``use_username_as_clientid``), the controller's
own account (``controller``) can neither resume nor delete that session at startup: any id it asks for
becomes ``controller``. What the old session queued (uplinks sent while no controller ran) is read by an
ingest on the account of that name, which is what ``serve --only ingest --worker <hostname>`` uses
(``controller-<worker>``, docs/architecture.md "Known limits"); a clean start on it then deletes the
session. Real Mosquitto, VictoriaMetrics and the real ingest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from station_controller.ingest.mqtt_client import SESSION_EXPIRY_S
from station_protocol import Channel, encode, make, now_ms, topic, uplink_filter
from tests.integration.ingest_rig import device_client, make_registry, make_settings, running_ingest, sample
from tests.support import BrokerHandle, VictoriaHandle, wait_until

pytestmark = pytest.mark.integration
LEGACY = "controller-oldhost-legacy"  # what an old controller on host "oldhost-legacy" used
DEVICE = "stb-legacy-1"
QUEUED = 25


def _stored(victoria: VictoriaHandle) -> float:
    rows = victoria.query(f'count_over_time(telemetry_seq{{device="{DEVICE}"}}[1h])')
    return float(rows[0]["value"][1]) if rows else 0.0


def test_the_orphaned_session_is_drained_on_its_own_account_then_deleted(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    factory = make_registry(tmp_path, [DEVICE])
    password = broker.add_service_account(LEGACY)
    old = broker.client(LEGACY, password, client_id=LEGACY)
    assert not old.connect(clean_start=False, session_expiry_s=SESSION_EXPIRY_S).is_failure
    old.subscribe(uplink_filter())
    old.close()  # the old controller stops for the upgrade; its session stays and queues
    device = device_client(broker, DEVICE)
    base = now_ms() - 60_000
    try:
        for seq in range(QUEUED):
            envelope = make(DEVICE, sample(seq), ts=base + seq * 100)
            assert not device.publish(topic(DEVICE, Channel.TELEMETRY), encode(envelope)).is_failure
    finally:
        device.close()

    settings = make_settings(tmp_path, broker, victoria).model_copy(
        update={"mqtt_username": LEGACY, "mqtt_password": SecretStr(password)}
    )
    with running_ingest(settings, factory):
        wait_until(lambda: _stored(victoria) == QUEUED, timeout=30, message="queued uplinks drained")

    cleaner = broker.client(LEGACY, password, client_id=LEGACY)
    assert not cleaner.connect(clean_start=True).is_failure  # session expiry 0: gone at disconnect
    cleaner.close()
    check = broker.client(LEGACY, password, client_id=LEGACY)
    assert not check.connect(clean_start=False).is_failure
    check.close()
    assert check.sessions_present == [False]
