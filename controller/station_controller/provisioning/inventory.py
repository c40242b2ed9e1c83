"""Ansible dynamic inventory from the registry (region, tag, role); also an ``ansible-inventory`` script.

By hand: ``STATION_INVENTORY_REGION=河南省 ansible-playbook -i <this file> playbooks/station_agent.yml``
(``--list`` / ``--host NAME`` as Ansible's script-inventory protocol asks; settings from ``STATION_*``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..registry.models import Device
from .jobs.service import Selector, resolve_selector
from .models import ProvisioningTarget


def _group(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name) or "_"


def build_inventory(session: Session, *, selector: Selector) -> dict[str, Any]:
    """``{"_meta": {"hostvars": ...}, "all": ..., "role_stb": ..., "tag_x": ..., "station_x": ...}``."""
    ids = resolve_selector(session, selector)
    rows = session.execute(
        select(Device, ProvisioningTarget)
        .join(ProvisioningTarget, ProvisioningTarget.device_id == Device.id)
        .where(Device.id.in_(ids))
        .order_by(Device.id)
    ).all()
    groups: dict[str, list[str]] = {}
    hostvars: dict[str, dict[str, Any]] = {}
    for device, target in rows:
        hostvars[device.id] = _hostvars(device, target)
        names = [f"role_{device.role}", f"station_{device.station.code}"] + [
            f"tag_{t.name}" for t in device.station.tags
        ]
        for name in names:
            groups.setdefault(_group(name), []).append(device.id)
    inventory: dict[str, Any] = {name: {"hosts": hosts} for name, hosts in sorted(groups.items())}
    inventory["all"] = {"hosts": list(hostvars), "children": sorted(groups)}
    inventory["_meta"] = {"hostvars": hostvars}
    return inventory


def _hostvars(device: Device, target: ProvisioningTarget) -> dict[str, Any]:
    # Secrets are never put into an inventory: staff use their own SSH agent when running by hand.
    return {
        "ansible_host": target.host,
        "ansible_port": target.port,
        "ansible_user": target.username or "root",
        "station_agent_serial": device.serial,
        "station_agent_device_role": device.role,
        "station_region_path": device.region_path,
        **{k: v for k, v in (target.vars or {}).items() if isinstance(k, str)},
    }


def _selector_from_env() -> Selector:
    tags = [t for t in os.environ.get("STATION_INVENTORY_TAG", "").split(",") if t]
    return Selector(
        region=os.environ.get("STATION_INVENTORY_REGION") or None,
        tags=tags,
        role=os.environ.get("STATION_INVENTORY_ROLE") or None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    from ..db import make_engine, make_session_factory
    from ..settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--host")
    args = parser.parse_args(argv)
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine)() as session:
            inventory = build_inventory(session, selector=_selector_from_env())
    finally:
        engine.dispose()
    out = inventory["_meta"]["hostvars"].get(args.host, {}) if args.host else inventory
    sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
