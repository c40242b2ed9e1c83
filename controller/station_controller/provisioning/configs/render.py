"""Resolve a device's template and inherited variables at a revision, render Jinja2 → TOML → RouterIntent."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import tomllib
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ...registry.models import Device
from ...settings import Settings
from ..legacy.errors import IntentInvalid
from ..legacy.profiles import RouterIntent, get_profile, intent_from_mapping
from .errors import RenderFailed
from .models import ConfigItem, ConfigRevision

DEFAULT_TEMPLATE = "router"
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENV.filters["toml"] = lambda value: json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Rendered:
    """A device's configuration at one revision (``seq``; ``draft_id`` when a draft was overlaid)."""

    device_id: str
    seq: int
    draft_id: int | None
    template: str
    variables: Mapping[str, Any]
    intent: RouterIntent
    fragment: str  # the profile's lines for the intent, in running-config form
    sha256: str


def latest_seq(session: Session) -> int:
    """The newest published revision number (0 when nothing was published yet)."""
    return int(session.scalar(select(func.max(ConfigRevision.seq))) or 0)


def region_chain(path: str) -> list[str]:
    """``a/b/c`` → ``["a", "a/b", "a/b/c"]`` (outermost first)."""
    parts = path.split("/") if path else []
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _scope_keys(device: Device) -> dict[str, list[str]]:
    return {
        "global": [""],
        "region": region_chain(device.region_path),
        "station": [device.station.code],
        "device": [device.id],
    }


def _visible(seq: int, draft_id: int | None) -> Any:
    return or_(
        and_(ConfigRevision.status == "published", ConfigRevision.seq <= seq),
        ConfigRevision.id == (draft_id or -1),
    )


def _ordered(rows: Sequence[Any]) -> list[ConfigItem]:
    # Published revisions in order, the draft (seq NULL) last: later items override earlier ones.
    return [item for item, _ in sorted(rows, key=lambda r: math.inf if r[1] is None else r[1])]


def items_for(session: Session, *, device: Device, seq: int, draft_id: int | None) -> list[ConfigItem]:
    """Every item that can apply to ``device`` at ``seq`` (plus the draft), in override order."""
    keys = _scope_keys(device)
    scope_filter = or_(*(and_(ConfigItem.scope == s, ConfigItem.scope_key.in_(k)) for s, k in keys.items()))
    rows = session.execute(
        select(ConfigItem, ConfigRevision.seq)
        .join(ConfigRevision, ConfigRevision.id == ConfigItem.revision_id)
        .where(_visible(seq, draft_id), or_(ConfigItem.kind == "template", scope_filter))
    ).all()
    return _ordered(rows)


def all_items(session: Session, *, seq: int, draft_id: int | None) -> list[ConfigItem]:
    """Every item visible at ``seq`` (plus the draft), for rendering many routers with one query."""
    rows = session.execute(
        select(ConfigItem, ConfigRevision.seq)
        .join(ConfigRevision, ConfigRevision.id == ConfigItem.revision_id)
        .where(_visible(seq, draft_id))
    ).all()
    return _ordered(rows)


def resolve(items: Sequence[ConfigItem], device: Device) -> tuple[dict[str, str], dict[str, Any]]:
    """(templates by name, variables) with inheritance global → region (root first) → station → device."""
    templates: dict[str, str] = {}
    layers: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        target = templates if item.kind == "template" else layers.setdefault((item.scope, item.scope_key), {})
        if item.deleted:
            target.pop(item.name, None)
        else:
            target[item.name] = item.value if item.kind == "template" else json.loads(item.value)
    variables: dict[str, Any] = {}
    for scope, keys in _scope_keys(device).items():
        for key in keys:
            variables.update(layers.get((scope, key), {}))
    return templates, variables


def builtins(device: Device, settings: Settings) -> dict[str, Any]:
    """Variables every template may use: the station, the device and where the controller is."""
    url = urlsplit(settings.public_url)
    return {
        "station": {"code": device.station.code, "name": device.station.name, "region": device.region_path},
        "device": {"id": device.id, "serial": device.serial, "role": device.role},
        "controller": {
            "host": url.hostname or "127.0.0.1",
            "port": url.port or 80,
            "url": settings.public_url,
        },
    }


def render_text(template: str, variables: Mapping[str, Any]) -> RouterIntent:
    """Render ``template`` with ``variables`` and validate the TOML it yields.

    Raises:
        RenderFailed: a Jinja2 error (e.g. an undefined variable), invalid TOML, or an invalid intent.
    """
    try:
        text = _ENV.from_string(template).render(**variables)
    except TemplateError as exc:
        raise RenderFailed(f"template error: {exc}; define the variable or fix the template") from exc
    try:
        return intent_from_mapping(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise RenderFailed(f"the template did not render valid TOML ({exc}):\n{text[:500]}") from exc
    except IntentInvalid as exc:
        raise RenderFailed(str(exc)) from exc


def render_items(
    items: Sequence[ConfigItem],
    *,
    device: Device,
    settings: Settings,
    profile: str,
    seq: int,
    draft_id: int | None = None,
) -> Rendered:
    """Render ``device`` from already loaded ``items`` (see ``items_for`` / ``all_items``).

    Raises:
        RenderFailed: no such template, a template error, or a value no router should get.
    """
    templates, user_vars = resolve(items, device)
    variables = {**user_vars, **builtins(device, settings)}
    name = str(user_vars.get("template", DEFAULT_TEMPLATE))
    if name not in templates:
        raise RenderFailed(f"no template {name!r} at revision {seq}; add it in a draft and publish it")
    intent = render_text(templates[name], variables)
    fragment = get_profile(profile).fragment(intent)
    digest = hashlib.sha256(fragment.encode()).hexdigest()
    return Rendered(device.id, seq, draft_id, name, user_vars, intent, fragment, digest)


def render_device(
    session: Session,
    *,
    device: Device,
    settings: Settings,
    profile: str,
    seq: int | None = None,
    draft_id: int | None = None,
) -> Rendered:
    """Render ``device``'s config at revision ``seq`` (default: newest), optionally with a draft on top."""
    seq = latest_seq(session) if seq is None else seq
    items = items_for(session, device=device, seq=seq, draft_id=draft_id)
    return render_items(items, device=device, settings=settings, profile=profile, seq=seq, draft_id=draft_id)
