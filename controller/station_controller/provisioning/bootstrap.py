"""The ``bootstrap`` action: a reachable Linux box → an enrolled station agent, via the Ansible role."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ..enrollment.service import reissue_token
from ..registry.models import Device
from ..settings import Settings
from .ansible import PlaybookRequest, PlaybookRunner
from .artifacts import BUNDLE, ensure_bundle
from .errors import ActionFailed
from .jobs.contract import ActionContext, DeviceOutcome
from .secrets import REDACTING_FILTER

log = logging.getLogger(__name__)
log.addFilter(REDACTING_FILTER)

PLAYBOOK = "station_agent.yml"


def playbook_dir(settings: Settings) -> Path:
    return settings.provisioning_playbook_dir or Path(__file__).resolve().parents[3] / "playbooks"


class BootstrapAction:
    """Issue a token (only while not enrolled), run the role, then wait for enrollment and telemetry."""

    name = "bootstrap"

    def __init__(self, settings: Settings, factory: sessionmaker[Session], runner: PlaybookRunner) -> None:
        self._settings, self._factory, self._runner = settings, factory, runner

    def run(self, ctx: ActionContext) -> DeviceOutcome:
        device = ctx.device
        if not device.host:
            raise ActionFailed(f"no SSH target: PUT /api/v1/provisioning/targets/{device.device_id} first")
        manifest = ensure_bundle(self._settings)
        token = self._token(ctx)
        ctx.log(f"bootstrap {device.device_id} at {device.username or 'root'}@{device.host}:{device.port}")
        result = self._runner.run(self._request(ctx, manifest["sha256"], token), ctx.log)
        data: dict[str, Any] = {
            "changed_tasks": list(result.changed_tasks),
            "bundle_sha256": manifest["sha256"],
        }
        if result.status in ("failed", "unreachable") or ctx.dry_run:
            return DeviceOutcome(result.status, result.reason, result.diff, data)
        self._wait_for_telemetry(ctx)
        return DeviceOutcome(result.status, "", result.diff, data)

    def _token(self, ctx: ActionContext) -> str:
        if ctx.dry_run or (ctx.device.status == "enrolled" and not ctx.params.get("reenroll")):
            return ""
        with self._factory() as session:
            _device, token = reissue_token(session, settings=self._settings, device_id=ctx.device.device_id)
        ctx.log("issued a one-time enrollment token")
        return token

    def _request(self, ctx: ActionContext, sha256: str, token: str) -> PlaybookRequest:
        s, device = self._settings, ctx.device
        base = s.public_url.rstrip("/")
        extravars = {
            "station_agent_device_role": device.role,
            "station_agent_serial": device.serial,
            "station_agent_controller_url": base,
            "station_agent_bundle_url": f"{base}/provisioning/artifacts/{BUNDLE}",
            "station_agent_bundle_sha256": sha256,
            "station_agent_mqtt_host": s.device_mqtt_host,
            "station_agent_mqtt_port": s.device_mqtt_port,
            "station_agent_mqtt_tls": s.device_mqtt_tls,
            "station_agent_token": token,
            **{k: v for k, v in device.vars.items() if k.startswith("station_agent_")},
        }
        hostvars = {
            **{k: v for k, v in device.vars.items() if k.startswith("ansible_")},
            "ansible_host": device.host,
            "ansible_port": device.port,
            "ansible_user": device.username or "root",
        }
        return PlaybookRequest(
            playbook=playbook_dir(s) / PLAYBOOK,
            host=device.device_id,
            hostvars=hostvars,
            extravars=extravars,
            private_key=ctx.secrets.private_key(),
            check=ctx.dry_run,
            timeout_s=s.provisioning_ansible_timeout_s,
            known_hosts=s.data_dir / "provisioning" / "known_hosts",
        )

    def _wait_for_telemetry(self, ctx: ActionContext) -> None:
        deadline = time.monotonic() + self._settings.provisioning_enroll_wait_s
        while time.monotonic() < deadline:
            with self._factory() as session:
                row = session.get(Device, ctx.device.device_id)
                if row is not None and row.status == "enrolled" and row.online and row.latest_at is not None:
                    ctx.log("the agent enrolled and its telemetry arrived")
                    return
            time.sleep(1.0)
        raise ActionFailed(
            f"the agent was installed but did not enroll and report telemetry within "
            f"{self._settings.provisioning_enroll_wait_s:g}s: check the agent log on the box and that it "
            f"reaches {self._settings.public_url} and the broker"
        )
