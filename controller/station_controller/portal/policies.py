"""Portal policies with inheritance: settings ← region path (root first) ← station ← router device."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..kernel.clock import utcnow
from ..settings import Settings
from .models import POLICY_FIELDS, SCOPES, Policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EffectivePolicy:
    """Every field resolved; ``sources`` names the scope each value came from (``settings`` if none)."""

    session_s: int
    idle_timeout_s: int
    up_kbps: int
    down_kbps: int
    daily_quota_bytes: int  # 0 = none
    devices_per_phone: int
    walled_garden: list[str]
    terms_version: str
    sources: dict[str, str]


def defaults(settings: Settings) -> dict[str, Any]:
    return {
        "session_s": settings.portal_session_s,
        "idle_timeout_s": settings.portal_idle_timeout_s,
        "up_kbps": settings.portal_up_kbps,
        "down_kbps": settings.portal_down_kbps,
        "daily_quota_bytes": settings.portal_daily_quota_bytes,
        "devices_per_phone": settings.portal_devices_per_phone,
        "walled_garden": [],
        "terms_version": settings.portal_terms_version,
    }


def region_prefixes(path: str) -> list[str]:
    """``a/b/c`` → ``["", "a", "a/b", "a/b/c"]`` (root first; "" is the fleet-wide policy)."""
    parts = [p for p in path.split("/") if p]
    return [""] + ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _layers(
    session: Session, *, region_path: str, station_code: str | None, device_id: str | None
) -> list[Policy]:
    wanted = [("region", key) for key in region_prefixes(region_path)]
    if station_code:
        wanted.append(("station", station_code))
    if device_id:
        wanted.append(("device", device_id))
    conds = [(Policy.scope == scope) & (Policy.scope_key == key) for scope, key in wanted]
    found = {(p.scope, p.scope_key): p for p in session.scalars(select(Policy).where(or_(*conds)))}
    return [found[w] for w in wanted if w in found]


def resolve(
    session: Session,
    *,
    settings: Settings,
    region_path: str,
    station_code: str | None = None,
    device_id: str | None = None,
) -> EffectivePolicy:
    """The policy for a router (or wifidog gateway) at ``region_path``/``station_code``."""
    values = defaults(settings)
    sources = dict.fromkeys(POLICY_FIELDS, "settings")
    for layer in _layers(session, region_path=region_path, station_code=station_code, device_id=device_id):
        for name in POLICY_FIELDS:
            value = getattr(layer, name)
            if value is not None:
                values[name] = list(value) if name == "walled_garden" else value
                sources[name] = f"{layer.scope}:{layer.scope_key}"
    return EffectivePolicy(**values, sources=sources)


def _check(scope: str, fields: dict[str, Any]) -> None:
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {list(SCOPES)}")
    for name, value in fields.items():
        if name not in POLICY_FIELDS:
            raise InvalidInput(f"unknown policy field {name!r}; known: {list(POLICY_FIELDS)}")
        if isinstance(value, int) and value < 0:
            raise InvalidInput(f"{name} must be >= 0 (or null to inherit)")


def list_policies(session: Session) -> list[Policy]:
    return list(session.scalars(select(Policy).order_by(Policy.scope, Policy.scope_key)))


def get_policy(session: Session, *, policy_id: int) -> Policy:
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise NotFound(f"portal policy {policy_id} does not exist")
    return policy


def put_policy(session: Session, *, scope: str, scope_key: str, fields: dict[str, Any]) -> Policy:
    """Create or replace the policy of one scope (fields left out or null inherit)."""
    _check(scope, fields)
    key = scope_key.strip("/") if scope == "region" else scope_key
    policy = session.scalar(select(Policy).where(Policy.scope == scope, Policy.scope_key == key))
    if policy is None:
        policy = Policy(scope=scope, scope_key=key)
        session.add(policy)
    for name in POLICY_FIELDS:
        setattr(policy, name, fields.get(name))
    policy.updated_at = utcnow()
    session.commit()
    log.info("portal policy %s:%s set: %s", scope, key, fields)
    return policy


def delete_policy(session: Session, *, policy_id: int) -> None:
    session.delete(get_policy(session, policy_id=policy_id))
    session.commit()
