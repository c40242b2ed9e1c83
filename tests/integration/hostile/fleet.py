"""The fleet the hostile suite runs against, and the checks that the honest part of it is unharmed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

from tests.support import wait_until

from .honest import HonestDevice, RealAgent
from .lab import Enrolled, Lab, parse_time
from .observe import ReadyzPoller, Tsdb, scrape

DEMO_STATION_CODE = "demo-0001"


@dataclass
class Fleet:
    lab: Lab
    hostile: Enrolled
    honest: list[HonestDevice]
    agents: list[RealAgent]
    readyz: ReadyzPoller
    tsdb: Tsdb
    started_at: float

    @property
    def honest_ids(self) -> list[str]:
        return [d.device_id for d in self.honest] + [a.device_id for a in self.agents]

    def metrics(self) -> dict[str, float]:
        return scrape(self.lab.url)

    def not_ready_since(self, start: float) -> list[str]:
        """Every /readyz answer other than 200 since ``start`` (no answer at all is not counted)."""
        return [f"{r.at - self.started_at:.1f}s: {r.status} {r.body}" for r in self.readyz.since(start)
                if r.status is not None and r.status != 200]  # fmt: skip

    def assert_unharmed(self, mark: float) -> None:
        """After an attack that ended at ``mark``: ready, every honest device's newest data stored,
        presence current, every device listed."""
        controller = self.lab.stack.controller
        assert controller is not None
        assert controller.running, f"controller died:\n{controller.log_tail()}"
        bad = self.not_ready_since(mark - 0.5)
        wait_until(self._ready_now, timeout=30, message="/readyz 200 after the attack")
        targets = [(d.device_id, d.last_acked_seq()) for d in self.honest]
        targets += [(a.device_id, a.numbered()) for a in self.agents]
        for device_id, seq in targets:
            wait_until(
                partial(self._stored_up_to, device_id, seq),
                timeout=60,
                interval=0.3,
                message=f"{device_id}: seq {seq} stored after the attack",
            )
        for device_id in self.honest_ids:
            wait_until(
                partial(self._present, device_id, mark),
                timeout=30,
                interval=0.3,
                message=f"{device_id}: online with last_seen after the attack",
            )
        ids, codes = self.lab.all_devices()
        assert set(codes) == {200}, f"GET /api/v1/devices page codes: {codes}"
        missing = {*self.honest_ids, self.hostile.device_id} - set(ids)
        assert not missing, f"GET /api/v1/devices does not list {sorted(missing)}"
        assert not bad, f"/readyz was not 200 during the attack: {bad[:5]} ({len(bad)} answers)"

    def _ready_now(self) -> bool:
        recent = self.readyz.since(time.time() - 1)
        return bool(recent) and recent[-1].status == 200

    def _stored_up_to(self, device_id: str, seq: int) -> bool:
        return self.tsdb.max_seq(device_id) >= seq

    def _present(self, device_id: str, mark: float) -> bool:
        row = self.lab.device(device_id)
        seen = parse_time(row["last_seen_at"])
        return bool(row["online"]) and seen is not None and seen.timestamp() >= mark


def demo_agent(lab: Lab) -> RealAgent:
    def enrolled() -> str | None:
        page = lab.api.get("/api/v1/devices", params={"station": DEMO_STATION_CODE, "status": "enrolled"})
        items = page.json().get("items", []) if page.status_code == 200 else []
        return str(items[0]["id"]) if items else None

    device_id = wait_until(enrolled, timeout=60, interval=0.5, message="demo agent enrolled")
    assert device_id is not None
    return RealAgent(device_id, lab.stack.data_dir / "demo" / "state" / "state.db")
