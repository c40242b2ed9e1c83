"""Shared by the config tests: a template, inherited variables, a router with an SSH target, a fake router."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from station_controller.provisioning.configs import drafts
from station_controller.provisioning.legacy.profiles.linux import render_uci
from station_controller.provisioning.legacy.ssh import RouterConnection, SshParams
from station_controller.provisioning.secrets import put_secret
from station_controller.provisioning.targets import TargetIn, put_target
from station_controller.registry.service import create_device, create_station
from station_controller.settings import Settings

COUNTY = "河南省/南阳市/唐河县"
VILLAGE = COUNTY + "/城郊乡/王庄村"

TEMPLATE = """\
[wifi]
ssid = {{ ssid | toml }}

[vlan]
id = {{ vlan_id }}
name = "sf-guest"
address = {{ guest_address | toml }}

[portal]
gateway_id = {{ device.id | toml }}
host = {{ controller.host | toml }}
port = {{ controller.port }}
path = "/wifidog/"

[rate_limit]
up_kbps = {{ up_kbps }}
down_kbps = {{ down_kbps }}
"""

GLOBAL_VARS = {
    "vlan_id": 20,
    "guest_address": "10.20.0.1/24",
    "up_kbps": 2048,
    "down_kbps": 8192,
    "ssid": "Free-WiFi",
}


def add_router(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    serial: str,
    station: str,
    host: str = "127.0.0.1",
    port: int = 22,
    profile: str = "linux",
    key: str | None = None,
    password: str | None = None,
) -> str:
    """Register a router on a new station in VILLAGE with an SSH target; returns its device id."""
    with factory() as session:
        create_station(session, code=station, name="王庄村服务站", region_path=VILLAGE)
        device, _token = create_device(
            session, settings=settings, station_code=station, role="router", serial=serial
        )
        device_id = device.id
        key_name = f"{device_id}-key" if key is not None else None
        password_name = f"{device_id}-pw" if password is not None else None
        if key is not None:
            put_secret(session, settings=settings, name=f"{device_id}-key", kind="ssh_key", value=key)
        if password is not None:
            put_secret(session, settings=settings, name=f"{device_id}-pw", kind="password", value=password)
        target = TargetIn(
            host=host,
            port=port,
            username="root",
            profile=profile,
            key_secret=key_name,
            password_secret=password_name,
        )
        put_target(session, device_id=device_id, data=target)
    return device_id


def publish(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    items: Sequence[tuple[str, str, str, object]],
    message: str = "test",
) -> int:
    """Publish a draft of (kind, scope, scope_key, name=value) items; returns the revision number."""
    with factory() as session:
        draft = drafts.create_draft(session, user="tester", message=message)
        for kind, scope, scope_key, pair in items:
            name, value = pair if isinstance(pair, tuple) else (pair, None)
            drafts.set_item(
                session,
                draft_id=draft.id,
                kind=kind,
                scope=scope,
                scope_key=scope_key,
                name=name,
                value=value,
            )
        seq = drafts.publish_draft(session, settings=settings, draft_id=draft.id, user="tester").seq
    assert seq is not None
    return seq


def baseline_items() -> list[tuple[str, str, str, object]]:
    items: list[tuple[str, str, str, object]] = [("template", "global", "", ("router", TEMPLATE))]
    items += [("variable", "global", "", (k, v)) for k, v in GLOBAL_VARS.items()]
    items.append(("variable", "region", COUNTY, ("ssid", "唐河县 Free WiFi")))
    return items


@dataclass
class FakeUciRouter:
    """A RouterConnector + RouterConnection for the linux profile: `uci` over a dict, no SSH."""

    config: dict[str, str] = field(
        default_factory=lambda: {"system.cfg01": "system", "system.cfg01.hostname": "GW"}
    )
    ignored: set[str] = field(default_factory=set)
    reachable: bool = True
    commands: list[str] = field(default_factory=list)

    def connect(self, params: SshParams) -> RouterConnection:
        from station_controller.provisioning.legacy.errors import RouterUnreachable

        if not self.reachable:
            raise RouterUnreachable(f"{params.device_id}: connection refused")
        return self

    def run(self, command: str) -> str:
        self.commands.append(command)
        argv = shlex.split(command)
        if argv == ["uci", "show"]:
            return render_uci(self.config)
        if argv[:2] == ["uci", "set"]:
            key, _, value = argv[2].partition("=")
            if key not in self.ignored:
                self.config[key] = value
        elif argv[:2] == ["uci", "delete"]:
            for k in [k for k in self.config if k == argv[2] or k.startswith(argv[2] + ".")]:
                del self.config[k]
        return ""

    def configure(self, lines: Sequence[str], *, error_pattern: str) -> str:
        raise AssertionError("the linux profile never uses config mode")

    def save(self) -> str:
        raise AssertionError("the linux profile saves with uci commit")

    def close(self) -> None:
        return None
