"""The phone's login steps: verified splash → pending login, SMS code send/verify, voucher, one-tap return."""

from __future__ import annotations

import hmac
import logging
import re
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..commands.publisher import CommandPublisher
from ..kernel.clock import as_utc, utcnow
from ..registry.service import normalise_mac
from ..settings import Settings
from . import service, vouchers
from .errors import (
    AccessDenied,
    BadSignature,
    CodeRejected,
    InvalidPhone,
    LoginExpired,
    SmsRateLimited,
    TermsNotAccepted,
)
from .models import Hotspot, PendingLogin, PortalSession, SmsCode
from .sms import SmsSender, mask
from .tokens import hash_token, new_login_token, new_sms_code, sms_code_hash, splash_signature_ok

log = logging.getLogger(__name__)
PHONE = re.compile(r"^1[3-9]\d{9}$")
DAY = timedelta(days=1)
FUTURE_SKEW_S = 60.0


def normalise_phone(raw: str) -> str:
    """A mainland mobile number: 11 digits 1[3-9]…; spaces, dashes and a +86 / 86 prefix are dropped."""
    digits = re.sub(r"[\s-]", "", raw or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
    if not PHONE.match(digits):
        raise InvalidPhone("enter an 11-digit mainland mobile number, e.g. 13800138000")
    return digits


def new_pending(
    session: Session,
    *,
    settings: Settings,
    kind: str,
    gateway: str,
    mac: str,
    ip: str,
    url: str,
    gw_address: str | None = None,
    gw_port: int | None = None,
) -> str:
    """Store a pending login bound to gateway + MAC + IP; returns its token (shown once, in the form)."""
    token = new_login_token()
    now = utcnow()
    session.add(
        PendingLogin(
            token_hash=hash_token(token),
            kind=kind,
            gateway=gateway,
            mac=mac,
            ip=ip,
            url=url,
            gw_address=gw_address,
            gw_port=gw_port,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.portal_login_ttl_s),
        )
    )
    session.commit()
    return token


def start_native(
    session: Session, *, settings: Settings, gw: str, mac: str, ip: str, url: str, ts: str, sig: str
) -> tuple[str, PendingLogin]:
    """Verify a router's splash redirect and open a pending login for that client.

    Raises BadSignature: unknown or disabled router, tampered parameters, or ``ts`` too old.
    """
    hotspot = session.get(Hotspot, gw) if gw else None
    if hotspot is None or not hotspot.enabled:
        raise BadSignature("this WiFi hotspot is not known to the portal; reconnect to the WiFi")
    if not splash_signature_ok(hotspot.gateway_key, sig, gw=gw, mac=mac, ip=ip, ts=ts, url=url):
        log.warning("%s splash redirect with a bad signature (mac %s)", gw, mac[:17])
        raise BadSignature("the login link was changed or is not from this hotspot; open any web page again")
    try:
        age = time.time() - int(ts) / 1000
    except ValueError:
        raise BadSignature("the login link has no valid time; open any web page again") from None
    if age > settings.portal_splash_max_age_s or age < -FUTURE_SKEW_S:
        raise BadSignature("the login link has expired; open any web page again")
    clean_mac = normalise_mac(mac)
    if clean_mac is None:
        raise BadSignature("the hotspot sent no valid device address; reconnect to the WiFi")
    token = new_pending(session, settings=settings, kind="native", gateway=gw, mac=clean_mac, ip=ip, url=url)
    return token, load_pending(session, token=token)


def load_pending(session: Session, *, token: str) -> PendingLogin:
    """The live, unused pending login of ``token``; LoginExpired otherwise."""
    pending = session.get(PendingLogin, hash_token(token or ""))
    if pending is None or pending.used_at is not None or as_utc(pending.expires_at) <= utcnow():
        raise LoginExpired(
            "this login page was already used or has expired; open any web page to start again"
        )
    return pending


def _count(session: Session, *conds: object) -> int:
    return int(session.scalar(select(func.count()).select_from(SmsCode).where(*conds)) or 0)  # type: ignore[arg-type]


def check_sms_limits(
    session: Session, *, settings: Settings, phone: str, source_ip: str, pending: PendingLogin, now: datetime
) -> None:
    """Cooldown per phone, then daily limits per phone, MAC, source IP and station (router)."""
    last = session.scalar(select(func.max(SmsCode.created_at)).where(SmsCode.phone == phone))
    if last is not None:
        wait = settings.portal_sms_cooldown_s - (now - as_utc(last)).total_seconds()
        if wait > 0:
            raise SmsRateLimited(
                f"a code was just sent; wait {wait:.0f} s before asking again", retry_after_s=wait
            )
    since = SmsCode.created_at > now - DAY
    limits = (
        ("phone", SmsCode.phone == phone, settings.portal_sms_per_phone_per_day),
        ("mac", SmsCode.mac == pending.mac, settings.portal_sms_per_mac_per_day),
        ("ip", SmsCode.source_ip == source_ip, settings.portal_sms_per_ip_per_day),
        ("station", SmsCode.gateway == pending.gateway, settings.portal_sms_per_station_per_day),
    )
    for name, cond, limit in limits:
        if _count(session, since, cond) >= limit:
            log.warning("%s sms limit per %s reached (%s)", pending.gateway, name, mask(phone))
            raise SmsRateLimited(
                f"too many codes requested today (limit per {name}); try again tomorrow or use a voucher",
                retry_after_s=DAY.total_seconds(),
            )


def send_code(
    session: Session, *, settings: Settings, sender: SmsSender, token: str, phone: str, source_ip: str
) -> str:
    """Send a 6-digit code to ``phone`` for this pending login; returns the normalised phone."""
    pending = load_pending(session, token=token)
    phone = normalise_phone(phone)
    now = utcnow()
    check_sms_limits(session, settings=settings, phone=phone, source_ip=source_ip, pending=pending, now=now)
    code = new_sms_code()
    secret = settings.secret_key.get_secret_value()
    session.add(
        SmsCode(
            phone=phone,
            code_hash=sms_code_hash(secret, phone, code),
            source_ip=source_ip,
            mac=pending.mac,
            gateway=pending.gateway,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.portal_sms_code_ttl_s),
            attempts=0,
        )
    )
    # Its own transaction, committed before delivery: a code counts against the limits even when the
    # SMS gateway fails or is slow, else a failing gateway would let anyone pump unlimited sends.
    session.commit()
    sender.send(phone=phone, code=code)
    return phone


def _check_code(
    session: Session, *, settings: Settings, pending: PendingLogin, phone: str, code: str
) -> SmsCode:
    stmt = select(SmsCode).where(
        SmsCode.phone == phone, SmsCode.mac == pending.mac, SmsCode.used_at.is_(None)
    )
    record = session.scalar(stmt.order_by(SmsCode.created_at.desc(), SmsCode.id.desc()).limit(1))
    if record is None or as_utc(record.expires_at) <= utcnow():
        raise CodeRejected("no valid code for this number; request a new code", extra={"attempts_left": 0})
    if record.attempts >= settings.portal_sms_max_attempts:
        raise CodeRejected("too many wrong codes; request a new code", extra={"attempts_left": 0})
    expected = sms_code_hash(settings.secret_key.get_secret_value(), phone, code.strip())
    if not _same(expected, record.code_hash):
        record.attempts += 1
        session.commit()  # its own transaction: a wrong guess counts although the login fails
        left = settings.portal_sms_max_attempts - record.attempts
        log.info("%s wrong sms code for %s (%d left)", pending.gateway, mask(phone), left)
        raise CodeRejected(f"wrong code; {left} attempt(s) left", extra={"attempts_left": left})
    return record


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def _require_terms(accepted: bool) -> None:
    if not accepted:
        raise TermsNotAccepted("tick the box to accept the terms of use first")


def verify_code(
    session: Session,
    *,
    settings: Settings,
    publisher: CommandPublisher | None,
    token: str,
    phone: str,
    code: str,
    accepted_terms: bool,
) -> service.Granted:
    """Check the code (at most ``portal_sms_max_attempts`` tries), then grant a session to the phone."""
    pending = load_pending(session, token=token)
    _require_terms(accepted_terms)
    phone = normalise_phone(phone)
    record = _check_code(session, settings=settings, pending=pending, phone=phone, code=code)
    site = service.site_for(session, kind=pending.kind, gateway=pending.gateway)
    policy = service.policy_for(session, settings=settings, site=site)
    left = service.admit_phone(session, policy=policy, phone=phone, mac=pending.mac, now=utcnow())
    record.used_at = utcnow()  # committed with the grant, or discarded with it if the grant fails
    grant = service.Grant(
        method="sms", phone=phone, quota_bytes=left or None, terms_version=policy.terms_version
    )
    return service.grant(
        session, settings=settings, publisher=publisher, pending=pending, token=token, grant=grant
    )


def voucher_login(
    session: Session,
    *,
    settings: Settings,
    publisher: CommandPublisher | None,
    token: str,
    code: str,
    accepted_terms: bool,
) -> service.Granted:
    pending = load_pending(session, token=token)
    _require_terms(accepted_terms)
    grant = vouchers.redeem(session, code=code, mac=pending.mac)
    return service.grant(
        session, settings=settings, publisher=publisher, pending=pending, token=token, grant=grant
    )


def returning_session(session: Session, *, settings: Settings, pending: PendingLogin) -> PortalSession | None:
    site = service.site_for(session, kind=pending.kind, gateway=pending.gateway)
    return service.find_roaming(session, settings=settings, mac=pending.mac, site=site)


def continue_login(
    session: Session,
    *,
    settings: Settings,
    publisher: CommandPublisher | None,
    token: str,
    accepted_terms: bool,
) -> service.Granted:
    """One tap for a device that holds a live session (here or at another station of the same area)."""
    pending = load_pending(session, token=token)
    _require_terms(accepted_terms)
    old = returning_session(session, settings=settings, pending=pending)
    if old is None:
        raise AccessDenied("no active session for this device; log in with an SMS code or a voucher")
    grant = service.roaming_grant(old)
    return service.grant(
        session, settings=settings, publisher=publisher, pending=pending, token=token, grant=grant
    )
