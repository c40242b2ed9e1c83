"""The controller builds the golden firmware.update args and accepts the golden firmware.* outputs and events.

Builder: the firmware campaign payload's start (FirmwarePayload.start, what a campaign sends); consumers:
command results (record_results, then the API's view), the payload's interpret (campaign outcomes) and
the ingest hub's firmware.progress handler (FirmwareEvents, then the firmware device API).
Goldens: tests/fixtures/messages/commands|events/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fixtures.golden import command_golden, event_golden
from station_controller.campaigns.payloads import Outcome, StartSpec
from station_controller.firmware.campaign_payload import FirmwarePayload
from station_controller.firmware.device_events import FirmwareEvents
from station_controller.ingest.events import DeviceEvent
from station_protocol import contract
from station_protocol import firmware as fw
from tests.controller.api.core_fixtures import Api
from tests.controller.commands.test_command_routes import _enrolled

from .test_golden_stream import api_round_trip

# Where the controller and the golden firmware.update args disagree (reported, not changed here): the
# golden URLs are {public}/api/v1/firmware/releases/<id>/manifest and .../files/, the controller serves
# and sends {public}/firmware/releases/<id>/manifest.json and .../files/ (firmware/routes.py public_router);
# the controller sends no campaign_id; windows_ms depends on the campaign window and the clock.
NOT_COMPARED = {"manifest_url", "files_base_url", "campaign_id", "windows_ms"}


def test_a_firmware_campaign_sends_the_golden_update_args(api: Api) -> None:
    golden = command_golden(fw.UPDATE)["args"]
    settings = api.settings.model_copy(update={"public_url": "https://controller.example"})
    payload = {k: golden[k] for k in ("release_id", "kind", "version", "health_deadline_s")}
    spec = StartSpec(job_id=golden["job_id"], payload=payload, window=None, utc_offset_min=480,
                     rate_bps=golden["rate_kbit"] * 1000,
                     not_after=datetime.fromtimestamp(golden["not_after_ms"] / 1000, UTC))  # fmt: skip
    sent: list[dict[str, Any]] = []

    def send(**command: Any) -> None:
        sent.append(command)

    with api.sessions() as session:
        FirmwarePayload(settings).start(session, device_id="stb-1", spec=spec, send=send)
    [command] = sent
    assert (command["name"], command["command_id"]) == (fw.UPDATE, golden["job_id"])
    args = command["args"]
    contract.decode_args(fw.UPDATE, args)
    assert set(args) <= set(golden)
    assert {k: v for k, v in args.items() if k not in NOT_COMPARED} == {
        k: v for k, v in golden.items() if k not in NOT_COMPARED
    }
    assert args["manifest_url"].startswith("https://controller.example/")
    assert args["files_base_url"].endswith(f"/{golden['release_id']}/files/")


@pytest.mark.parametrize("name", [fw.UPDATE, fw.STATUS])
def test_firmware_commands_store_the_golden_output(api: Api, name: str) -> None:
    api_round_trip(api, name)


def test_the_campaign_payload_reads_the_golden_progress(api: Api) -> None:
    detail = event_golden(fw.PROGRESS)
    with api.sessions() as session:
        outcome = FirmwarePayload(api.settings).interpret(session, device_id="stb-1", name=fw.PROGRESS,
                                                          detail=detail)  # fmt: skip
    assert outcome == Outcome(detail["job_id"], "progress", status=detail["state"],
                              bytes_done=detail["bytes_done"], bytes_total=detail["bytes_total"])  # fmt: skip


def test_the_firmware_event_handler_records_the_golden_progress(api: Api) -> None:
    device_id = _enrolled(api, "FW1")
    detail = event_golden(fw.PROGRESS)
    FirmwareEvents(api.sessions).record([DeviceEvent(device_id, fw.PROGRESS, detail)])
    reply = api.client.get(f"/api/v1/firmware/devices/{device_id}", headers=api.user("operator"))
    assert reply.status_code == 200, reply.text
    device = reply.json()["device"]
    assert (device["state"], device["release_id"]) == (detail["state"], detail["release_id"])
