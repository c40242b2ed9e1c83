"""The portal gateway: applies the ``portal`` config and runs sessions on nft, tc and the splash server.

One re-entrant lock serialises the command worker, the enforcer loop and splash lookups. Kernel
changes come first and the row/event commit last, so a crash in between is repaired by the rebuild at
the next start (the table and classes are always rebuilt from state.db).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Protocol

from station_protocol import Channel, Event, encode, make, now_ms, topic
from station_protocol import portal as wire

from ..outbox import Outbox
from ..state import StateStore
from .dhcp_option import DhcpOptionFile
from .enforcer import accounting_details, accounting_entry, deadline_ms, decide
from .errors import GatewayError, InvalidPortalArgs, ToolFailed
from .nft import Firewall
from .sessions import Session, SessionStore
from .splash_state import SplashState
from .tc import Shaper
from .validate import AllowArgs, PortalConfig

log = logging.getLogger(__name__)


def _nothing() -> None:
    return None


def ended_detail(session: Session) -> Dict[str, Any]:
    return {"session_id": session.session_id, "mac": session.mac, "ip": session.ip,
            "bytes_up": session.bytes_up, "bytes_down": session.bytes_down}  # fmt: skip


class Splash(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


SplashFactory = Callable[[str, int, "Gateway"], Splash]  # (bind ip, port, backend)


class Gateway:
    def __init__(
        self,
        *,
        device_id: str,
        store: StateStore,
        outbox: Outbox,
        firewall: Firewall,
        shaper: Shaper,
        splash_factory: Optional[SplashFactory] = None,
        lan_ip_of: Optional[Callable[[str], Optional[str]]] = None,
        dhcp: Optional[DhcpOptionFile] = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.device_id = device_id
        self._outbox = outbox
        self._firewall = firewall
        self._shaper = shaper
        self._splash_factory = splash_factory
        self._lan_ip_of = lan_ip_of
        self._dhcp = dhcp or DhcpOptionFile("")
        self._clock = clock
        self._lock = threading.RLock()
        self.sessions = SessionStore(store)
        self.config: Optional[PortalConfig] = None  # the active (enabled) config, None when off
        self._splash: Optional[Splash] = None
        self._splash_key: Optional[tuple[str, int]] = None
        self.on_sessions_changed: Callable[[], None] = _nothing  # the enforcer's wake-up (new deadlines)

    # -- configuration -----------------------------------------------------------------------
    def apply_config(self, cfg: Optional[PortalConfig]) -> None:
        """Enable, change or disable the portal; on failure the previous setup is restored and it raises."""
        with self._lock:
            previous = self.config
            if previous is None and (cfg is None or not cfg.enabled):
                return  # nothing active: a router without a portal never touches nft or tc
            try:
                self._activate(cfg if cfg is not None and cfg.enabled else None, previous)
            except Exception:
                log.exception("%s: portal config failed; restoring the previous one", self.device_id)
                self._restore(previous)
                raise

    def _restore(self, previous: Optional[PortalConfig]) -> None:
        try:
            self._activate(previous, self.config)
        except Exception:
            log.exception("%s: could not restore the previous portal setup", self.device_id)

    def _activate(self, cfg: Optional[PortalConfig], old: Optional[PortalConfig]) -> None:
        if cfg is None:
            self._disable(old)
            return
        lan_ip = self._lan_ip(cfg.lan_interface)
        self._rebuild(cfg)
        if old is not None and old.lan_interface != cfg.lan_interface:
            self._shaper.teardown(old.lan_interface)
        self._start_splash(lan_ip, cfg.splash_port)
        self._dhcp.write(cfg.lan_interface, lan_ip, cfg.splash_port)
        self.config = cfg
        log.info(
            "%s: portal enabled on %s (%d sessions)",
            self.device_id,
            cfg.lan_interface,
            len(self.sessions.all()),
        )

    def _lan_ip(self, lan: str) -> str:
        if self._lan_ip_of is None:
            return "0.0.0.0"  # noqa: S104 - only without a LAN lookup (unit tests, no splash)
        ip = self._lan_ip_of(lan)
        if ip is None:
            raise GatewayError(
                f"LAN interface {lan!r} has no IPv4 address; configure it, then re-push the config"
            )
        return ip

    def _disable(self, old: Optional[PortalConfig]) -> None:
        self._stop_splash()
        self._sync_counters()
        self._firewall.delete()
        self.sessions.fold_live()
        if old is not None:
            self._shaper.teardown(old.lan_interface)
        self._dhcp.remove()
        self.config = None
        if old is not None:
            log.info("%s: portal disabled", self.device_id)

    def _rebuild(self, cfg: PortalConfig) -> None:
        """Load the whole table and every shaping class from state.db (start, reboot, config change)."""
        self._sync_counters()  # also after an agent restart: the old table may still be counting
        sessions = self.sessions.all()
        self._firewall.load(cfg, [s.client for s in sessions])
        self.sessions.fold_live()  # only now: the new elements count from zero
        self._shaper.setup(cfg.lan_interface)
        for s in sessions:
            self._shape(cfg, s)

    def _shape(self, cfg: PortalConfig, s: Session) -> None:
        self._shaper.add_client(
            cfg.lan_interface, class_id=s.class_id, ip=s.ip, up_kbps=s.up_kbps, down_kbps=s.down_kbps
        )

    def _start_splash(self, ip: str, port: int) -> None:
        if self._splash_factory is None or self._splash_key == (ip, port):
            return
        self._stop_splash()
        self._splash = self._splash_factory(ip, port, self)
        self._splash.start()
        self._splash_key = (ip, port)

    def _stop_splash(self) -> None:
        if self._splash is not None:
            self._splash.stop()
        self._splash, self._splash_key = None, None

    def close(self) -> None:
        """Stop the splash server; the table and classes stay so clients stay online across a restart."""
        with self._lock:
            self._stop_splash()

    # -- sessions ----------------------------------------------------------------------------
    def _active(self) -> PortalConfig:
        if self.config is None:
            raise InvalidPortalArgs(
                "the portal is not enabled on this router; push desired config portal first"
            )
        return self.config

    def allow(self, args: AllowArgs) -> Dict[str, Any]:
        with self._lock:
            cfg, now = self._active(), self._clock()
            if args.expires_at <= now:
                raise InvalidPortalArgs(f"expires_at {args.expires_at} is in the past (router clock {now})")
            current = self.sessions.get(args.session_id)
            replaced = [s for s in self.sessions.clashing(args.session_id, args.mac, args.ip)]
            if current is not None and (current.mac, current.ip) != (args.mac, args.ip):
                replaced.append(current)
                current = None
            for old in replaced:
                self._end(old, "revoked")
            session = self._new_session(args, current, now)
            self._firewall.add_clients([session.client])
            try:
                self._shape(cfg, session)
            except Exception:
                self._firewall.remove_clients([session.client])
                raise
            self.sessions.put(session)
        self.on_sessions_changed()
        log.info(
            "%s: portal session %s allowed for %s/%s", self.device_id, args.session_id, args.mac, args.ip
        )
        return {"session_id": session.session_id, "mac": session.mac, "ip": session.ip,
                "class_id": session.class_id, "replaced": [s.session_id for s in replaced]}  # fmt: skip

    def _new_session(self, args: AllowArgs, current: Optional[Session], now: int) -> Session:
        base = current or Session(
            session_id=args.session_id, mac=args.mac, ip=args.ip, expires_at=0, idle_timeout_s=0, up_kbps=0,
            down_kbps=0, quota_bytes=0, class_id=self.sessions.free_class_id(), started_ms=now,
            last_activity_ms=now,
        )  # fmt: skip
        # The same login again keeps its counters and class; only the limits change.
        return replace(
            base,
            expires_at=args.expires_at,
            idle_timeout_s=args.idle_timeout_s,
            up_kbps=args.up_kbps,
            down_kbps=args.down_kbps,
            quota_bytes=args.quota_bytes,
        )

    def revoke(self, session_id: str, mac: str, reason: str) -> Dict[str, Any]:
        with self._lock:
            self._active()
            session = self.sessions.get(session_id)
            if session is None:
                return {"session_id": session_id, "revoked": False, "detail": "no live session with this id"}
            if session.mac != mac:
                raise InvalidPortalArgs(f"mac {mac} does not match session {session_id} ({session.mac})")
            self._sync_counters()
            ended = self._end(self.sessions.get(session_id) or session, "revoked")
        log.info("%s: portal session %s revoked (%s)", self.device_id, session_id, reason or "no reason")
        return {"session_id": session_id, "revoked": True, **ended}

    def extend(self, session_id: str, expires_at: int, quota_bytes: int) -> Dict[str, Any]:
        with self._lock:
            self._active()
            session = self.sessions.get(session_id)
            if session is None:
                raise GatewayError(
                    f"no live session {session_id}; it ended (see portal.session_ended) - allow it anew"
                )
            session = replace(session, expires_at=expires_at, quota_bytes=quota_bytes)
            self.sessions.put(session)
        self.on_sessions_changed()
        return accounting_entry(session) | {"expires_at": expires_at, "quota_bytes": quota_bytes}

    def list_sessions(self) -> List[Dict[str, Any]]:
        with self._lock:
            if self.config is not None:
                self._sync_counters()
            return [accounting_entry(s) | {"expires_at": s.expires_at, "quota_bytes": s.quota_bytes,
                    "up_kbps": s.up_kbps, "down_kbps": s.down_kbps, "idle_timeout_s": s.idle_timeout_s}
                    for s in self.sessions.all()]  # fmt: skip

    def _end(self, session: Session, reason: str) -> Dict[str, Any]:
        """Remove from nft and tc, then delete the row and queue ``portal.session_ended`` together."""
        cfg = self.config
        try:
            self._firewall.remove_clients([session.client])
        except ToolFailed as exc:  # the table itself is gone: the client is out either way
            log.warning("%s: removing %s from nft: %s", self.device_id, session.session_id, exc)
        if cfg is not None:
            self._shaper.remove_client(cfg.lan_interface, class_id=session.class_id)
        detail = {
            **ended_detail(session),
            "reason": reason,
            "ended_at": self._clock(),
        }
        with self.sessions.transaction():
            self.sessions.delete(session.session_id)
            self._event(wire.SESSION_ENDED, detail)
        log.info("%s: portal session %s ended: %s", self.device_id, session.session_id, reason)
        return detail

    def _event(self, name: str, detail: Dict[str, Any]) -> None:
        body = Event(name=name, severity="info", detail=detail)
        self._outbox.put("event", topic(self.device_id, Channel.EVENT), encode(make(self.device_id, body)))

    # -- enforcement -------------------------------------------------------------------------
    def _sync_counters(self) -> bool:
        """Fold the kernel's counters into the rows; False when the table or an element is missing."""
        counters = self._firewall.counters()
        if counters is None:
            return False
        now, complete, changed = self._clock(), True, []
        for s in self.sessions.all():
            up, down = counters.up.get((s.mac, s.ip)), counters.down.get(s.ip)
            if up is None or down is None:
                complete = False
                continue
            updated = s.with_live(up, down, now)
            if updated != s:
                changed.append(updated)
        self.sessions.put_many(changed)
        return complete

    def enforce(self) -> int:
        """One enforcement round: counters, self-repair of a lost table, expiry/quota/idle."""
        with self._lock:
            cfg = self.config
            if cfg is None:
                return 0
            if not self._sync_counters():
                log.warning(
                    "%s: portal table or elements missing (ruleset flushed?); rebuilding", self.device_id
                )
                self._rebuild(cfg)
            now = self._clock()
            ending = [(s, reason) for s in self.sessions.all() if (reason := decide(s, now))]
            for session, reason in ending:
                self._end(session, reason)
            self._sync_bridge_ports(cfg)
            return len(ending)

    def _sync_bridge_ports(self, cfg: PortalConfig) -> None:
        try:
            self._shaper.sync_ports(cfg.lan_interface)
        except GatewayError as exc:
            log.warning("%s: checking the LAN bridge ports for upload shaping: %s", self.device_id, exc)

    def seconds_to_deadline(self) -> Optional[float]:
        """Seconds until the earliest known expiry or idle deadline (<= 0: due now), None without one."""
        with self._lock:
            if self.config is None:
                return None
            due = [deadline_ms(s) for s in self.sessions.all()]
            now = self._clock()
        return min(due) / 1000 - now / 1000 if due else None

    def account(self) -> int:
        with self._lock:
            sessions = self.sessions.all()
            with self.sessions.transaction():
                for detail in accounting_details(sessions):
                    self._event(wire.ACCOUNTING, detail)
            return len(sessions)

    # -- splash backend ----------------------------------------------------------------------
    def splash_state(self, ip: str, mac: str) -> Optional[SplashState]:
        with self._lock:
            cfg = self.config
            if cfg is None:
                return None
            session = self.sessions.by_ip(ip)
            if session is not None and session.mac != mac:
                session = None  # same IP, other device: not the authenticated client
            return SplashState(gw=self.device_id, portal_url=cfg.portal_url, gateway_key=cfg.gateway_key,
                               now_ms=self._clock(), session=session)  # fmt: skip
