"""Versioned desired config (retained on ``config/desired``): validate, apply, persist, report.

Known keys (flat ``"telemetry.interval_s"`` or nested ``{"telemetry": {"interval_s": ...}}``):

    telemetry.interval_s        number, 1..86400      takes effect at once
    commands.default_timeout_s  number, 1..3600       for commands that send no timeout_s
    log_level                   DEBUG|INFO|WARNING|ERROR
    portal                      object (docs/portal.md), role router only; absent = portal off

A version above the applied one is validated as a whole: any unknown key or bad value rejects it
(nothing is applied) and the report carries the reason. Versions at or below the applied one are
ignored and the applied version is reported again, so the controller always learns where we are.
A changed ``portal`` object is applied to the gateway before anything is stored; if that fails the
gateway keeps its previous setup and the version is rejected with the reason. The portal is checked
and applied through a ``PortalPort`` that only a router is given, so an STB never imports the gateway.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Mapping, Optional

from station_protocol import (
    Channel,
    ConfigDesired,
    ConfigReported,
    ProtocolError,
    decode_from,
    encode,
    make,
    topic,
)

from .errors import AgentError, PermanentError
from .outbox import Outbox
from .roles import PortalPort
from .state import StateStore
from .tunables import Tunables

log = logging.getLogger(__name__)

APPLIED_KEY = "applied_config"
PORTAL_KEY = "portal"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _number(low: float, high: float) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise PermanentError(f"must be a number between {low:g} and {high:g}, got {value!r}")
        return float(value)

    return check


def _log_level(value: Any) -> Any:
    if not isinstance(value, str) or value.upper() not in LOG_LEVELS:
        raise PermanentError(f"must be one of {list(LOG_LEVELS)}, got {value!r}")
    return value.upper()


NOT_A_ROUTER = "this agent is not a router (device.role must be 'router')"


VALIDATORS: Dict[str, Callable[[Any], Any]] = {
    "telemetry.interval_s": _number(1, 86400),
    "commands.default_timeout_s": _number(1, 3600),
    "log_level": _log_level,
}
KNOWN_KEYS = sorted([*VALIDATORS, PORTAL_KEY])


def flatten(config: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"telemetry": {"interval_s": 5}}`` → ``{"telemetry.interval_s": 5}``."""
    flat: Dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in VALIDATORS and name != PORTAL_KEY:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def validate(config: Mapping[str, Any], portal: Optional[PortalPort] = None) -> Dict[str, Any]:
    """Checked, normalised flat config; ``portal`` checks the ``portal`` object (routers only).

    Raises:
        PermanentError: an unknown key or a bad value (the message names it).
    """
    checked: Dict[str, Any] = {}
    for key, value in sorted(flatten(config).items()):
        check = VALIDATORS.get(key)
        if key == PORTAL_KEY:
            check = portal.check if portal is not None else _not_a_router
        if check is None:
            raise PermanentError(f"unknown key {key!r}; this agent supports {KNOWN_KEYS}")
        try:
            checked[key] = check(value)
        except PermanentError as exc:
            raise PermanentError(f"{key}: {exc}") from None
    return checked


def _not_a_router(value: Any) -> Any:
    raise PermanentError(NOT_A_ROUTER)


class DesiredConfig:
    """Applies desired config to the running agent; the applied version and values live in state.db."""

    def __init__(
        self,
        *,
        device_id: str,
        store: StateStore,
        outbox: Outbox,
        tunables: Tunables,
        portal: Optional[PortalPort] = None,
    ) -> None:
        self._device_id = device_id
        self._portal = portal
        self._store = store
        self._outbox = outbox
        self._tunables = tunables
        self._defaults = (tunables.telemetry_interval_s, tunables.command_timeout_s)

    @property
    def applied_version(self) -> int:
        saved = self._store.get_json(APPLIED_KEY)
        return int(saved["version"]) if isinstance(saved, dict) else 0

    def restore(self) -> None:
        """Re-apply the last applied config after a restart (before the broker resends it)."""
        saved = self._store.get_json(APPLIED_KEY)
        config = dict(saved.get("config", {})) if isinstance(saved, dict) else {}
        self._apply(config)
        if self._portal is not None:
            try:
                self._portal.apply(_portal_value(config))
            except AgentError as exc:  # keep the agent up: the enforcer retries, the controller can re-push
                log.error("%s: portal could not be restored: %s", self._device_id, exc)

    def handle(self, topic_name: str, payload: bytes) -> Optional[ConfigReported]:
        """Process one config/desired message; returns the report queued (None for an unusable payload)."""
        try:
            _, env = decode_from(topic_name, payload)
        except ProtocolError as exc:
            log.warning("%s: undecodable desired config on %s: %s", self._device_id, topic_name, exc)
            return None
        if not isinstance(env.body, ConfigDesired):
            return None
        return self.offer(env.body)

    def offer(self, desired: ConfigDesired) -> ConfigReported:
        applied = self.applied_version
        if desired.version <= applied:
            log.debug("%s: desired config v%d <= applied v%d", self._device_id, desired.version, applied)
            return self._report(ConfigReported(version=applied, status="applied"))
        try:
            checked = validate(desired.config, self._portal)
        except PermanentError as exc:
            log.warning("%s: desired config v%d rejected: %s", self._device_id, desired.version, exc)
            return self._report(ConfigReported(version=desired.version, status="rejected", error=str(exc)))
        try:
            self._apply_portal(checked)
        except AgentError as exc:
            log.warning("%s: desired config v%d not applied: %s", self._device_id, desired.version, exc)
            return self._report(ConfigReported(version=desired.version, status="rejected", error=str(exc)))
        with self._store.transaction():
            self._store.put_json(APPLIED_KEY, {"version": desired.version, "config": checked})
            report = self._report(ConfigReported(version=desired.version, status="applied"))
        self._apply(checked)
        log.info("%s: desired config v%d applied", self._device_id, desired.version)
        return report

    def _apply_portal(self, checked: Mapping[str, Any]) -> None:
        if self._portal is None:
            return  # validate() refused a portal object already
        saved = self._store.get_json(APPLIED_KEY)
        before = saved.get("config", {}).get(PORTAL_KEY) if isinstance(saved, dict) else None
        if checked.get(PORTAL_KEY) != before:
            self._portal.apply(_portal_value(checked))

    def _apply(self, checked: Mapping[str, Any]) -> None:
        interval, timeout = self._defaults
        self._tunables.update(
            telemetry_interval_s=float(checked.get("telemetry.interval_s", interval)),
            command_timeout_s=float(checked.get("commands.default_timeout_s", timeout)),
        )
        if "log_level" in checked:
            logging.getLogger("station_agent").setLevel(str(checked["log_level"]))

    def _report(self, report: ConfigReported) -> ConfigReported:
        payload = encode(make(self._device_id, report))
        self._outbox.put(
            "config_reported", topic(self._device_id, Channel.CONFIG_REPORTED), payload, retain=True
        )
        return report


def _portal_value(checked: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    value = checked.get(PORTAL_KEY)
    return value if isinstance(value, dict) else None
