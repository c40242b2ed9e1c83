"""Portal fixtures: an app on a migrated SQLite registry with a fake publisher, an enrolled router with the
portal enabled, and helpers that act like a phone behind it (signed splash URL, form fields, SMS outbox)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from station_controller.main import create_app
from station_controller.migrations import upgrade_head
from station_controller.portal.tokens import sign_splash
from station_protocol import Command, decode
from tests.controller.api.core_fixtures import Api, make_settings
from tests.fakes.ingest import FakeIngest

REGION = "河南省/南阳市/唐河县/城郊乡/王庄村"
MAC = "aa:bb:cc:00:00:01"
IP = "192.168.8.23"
_HIDDEN = re.compile(r'<input type="hidden" name="(login|csrf)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    """The login token and form token of a rendered portal page (what a browser would post back)."""
    return dict(_HIDDEN.findall(html))


@dataclass
class Portal:
    api: Api
    router: str
    key: str
    admin: dict[str, str]

    @property
    def client(self) -> TestClient:
        return self.api.client

    def splash_params(
        self,
        *,
        mac: str = MAC,
        ip: str = IP,
        url: str = "http://example.cn/news?id=1",
        ts: int | None = None,
        router: str | None = None,
        key: str | None = None,
    ) -> dict[str, str]:
        gw = router or self.router
        stamp = str(ts if ts is not None else int(time.time() * 1000))
        sig = sign_splash(key or self.key, gw=gw, mac=mac, ip=ip, ts=stamp, url=url)
        return {"gw": gw, "mac": mac, "ip": ip, "url": url, "ts": stamp, "sig": sig}

    def open(self, **kwargs: Any) -> dict[str, str]:
        """GET the splash target like a redirected phone; returns the form's hidden fields."""
        reply = self.client.get("/portal/?" + urlencode(self.splash_params(**kwargs)))
        assert reply.status_code == 200, reply.text
        return hidden_fields(reply.text)

    def last_code(self, phone: str) -> str:
        lines = (self.api.settings.data_dir / "sms-outbox.jsonl").read_text().splitlines()
        return str([json.loads(line) for line in lines if json.loads(line)["phone"] == phone][-1]["code"])

    def sms_login(self, phone: str = "13800138000", **kwargs: Any) -> Any:
        form = self.open(**kwargs)
        sent = self.client.post("/portal/sms/send", data={**form, "phone": phone})
        assert sent.status_code == 200, sent.text
        data = {**form, "phone": phone, "code": self.last_code(phone), "accept_terms": "1"}
        return self.client.post("/portal/sms/verify", data=data)

    def commands(self, name: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(name, args) of every command published to a router, oldest first."""
        found = []
        for sent in self.api.ingest.publisher.sent:
            body = decode(sent["payload"]).body  # type: ignore[arg-type]
            if isinstance(body, Command) and (name is None or body.name == name):
                found.append((body.name, body.args))
        return found

    def add_router(self, serial: str, *, region: str = REGION, station: str | None = None) -> tuple[str, str]:
        """Register, enroll and portal-enable a router; returns (device id, gateway key)."""
        code = station or f"st-{serial.lower()}"
        self.client.post(
            "/api/v1/stations", json={"code": code, "name": "站", "region_path": region}, headers=self.admin
        )
        created = self.client.post(
            "/api/v1/devices",
            json={"station_code": code, "role": "router", "serial": serial},
            headers=self.admin,
        ).json()
        assert (
            self.client.post("/api/v1/enroll", json={"serial": serial, "token": created["token"]}).status_code
            == 200
        )
        device_id = str(created["device"]["id"])
        reply = self.client.put(f"/api/v1/portal/hotspots/{device_id}", json={}, headers=self.admin)
        assert reply.status_code == 200, reply.text
        with self.api.sessions() as session:
            from station_controller.portal.models import Hotspot

            hotspot = session.get(Hotspot, device_id)
            assert hotspot is not None
            return device_id, hotspot.gateway_key


PortalFactory = Callable[..., Portal]


@pytest.fixture
def make_portal(tmp_path: Path) -> Iterator[PortalFactory]:
    """Build a portal app with settings overrides (e.g. ``portal_sms_cooldown_s=0``) and a WiFiDog clock."""
    clients: list[TestClient] = []

    def build(wifidog_clock: Callable[[], float] | None = None, **overrides: Any) -> Portal:
        url = f"sqlite:///{tmp_path / 'registry.db'}"
        upgrade_head(url)
        settings = make_settings(tmp_path, url, **overrides)
        ingest = FakeIngest()
        app = create_app(settings, ingest=ingest, wifidog_clock=wifidog_clock)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        api = Api(client=client, settings=settings, sessions=app.state.session_factory, ingest=ingest)
        portal = Portal(api=api, router="", key="", admin=api.user("admin"))
        portal.router, portal.key = portal.add_router("R1")
        return portal

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def portal(make_portal: PortalFactory) -> Portal:
    return make_portal()
