"""Staff services: users, login sessions and role checks (each call commits)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import AuthenticationRequired, Conflict, InvalidInput, NotFound, PermissionDenied
from ..kernel.clock import as_utc, utcnow
from ..kernel.tokens import hash_token, new_token
from ..settings import Settings
from .models import ROLES, SIDE_ROLES, StaffSession, StaffUser
from .passwords import DUMMY_HASH, MIN_LENGTH, hash_password, verify_password

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")


def role_allows(role: str, needed: str) -> bool:
    """True when ``role`` is ``needed`` or above it (viewer < operator < admin); side roles only match."""
    if role not in ROLES or needed not in ROLES:
        return role == needed
    return ROLES.index(role) >= ROLES.index(needed)


def require(user: StaffUser, needed: str) -> None:
    if not role_allows(user.role, needed):
        raise PermissionDenied(f"this needs the {needed} role; {user.username} is {user.role}. Ask an admin")


def _check_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_LENGTH} characters")


def _check_role(role: str) -> None:
    if role not in ROLES + SIDE_ROLES:
        raise InvalidInput(f"role {role!r} is not one of {list(ROLES + SIDE_ROLES)}")


def create_user(session: Session, *, username: str, password: str, role: str) -> StaffUser:
    if not _USERNAME.match(username):
        raise InvalidInput("username: 2-64 of [A-Za-z0-9._@-], starting with a letter or digit")
    _check_role(role)
    _check_password(password)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise Conflict(f"staff user {username!r} exists; pick another name or update that user")
    user = StaffUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        disabled=False,
        created_at=utcnow(),
    )
    session.add(user)
    session.commit()
    log.info("staff user %s created with role %s", username, role)
    return user


def login(session: Session, *, settings: Settings, username: str, password: str) -> tuple[str, StaffSession]:
    """A new session token for valid credentials.

    Raises:
        AuthenticationRequired: unknown user, wrong password or disabled account (not told apart).
    """
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    ok = verify_password(password, user.password_hash if user else DUMMY_HASH)
    if user is None or not ok or user.disabled:
        raise AuthenticationRequired("wrong username or password, or the account is disabled")
    now = utcnow()
    session.execute(
        delete(StaffSession).where(StaffSession.user_id == user.id, StaffSession.expires_at < now)
    )
    token = new_token()
    record = StaffSession(
        token_hash=hash_token(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.staff_session_ttl_s),
    )
    record.user = user
    session.add(record)
    session.commit()
    log.info("staff user %s logged in", username)
    return token, record


def user_for_token(session: Session, *, token: str) -> StaffUser:
    """The user of a live session token; AuthenticationRequired otherwise."""
    record = session.get(StaffSession, hash_token(token))
    if record is None or as_utc(record.expires_at) <= utcnow() or record.user.disabled:
        raise AuthenticationRequired("session expired or unknown; log in again at POST /api/v1/auth/login")
    return record.user


def logout(session: Session, *, token: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.token_hash == hash_token(token)))
    session.commit()


def list_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def get_user(session: Session, *, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise NotFound(f"staff user {username!r} does not exist")
    return user


def update_user(
    session: Session,
    *,
    username: str,
    role: str | None = None,
    disabled: bool | None = None,
    password: str | None = None,
) -> StaffUser:
    """Change role / disabled / password; disabling or a new password ends the user's sessions."""
    user = get_user(session, username=username)
    if role is not None:
        _check_role(role)
        user.role = role
    if password is not None:
        _check_password(password)
        user.password_hash = hash_password(password)
    if disabled is not None:
        user.disabled = disabled
    if disabled or password is not None:
        session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.commit()
    log.info("staff user %s updated (role=%s disabled=%s)", username, user.role, user.disabled)
    return user


def delete_user(session: Session, *, username: str, acting: StaffUser) -> None:
    user = get_user(session, username=username)
    if user.id == acting.id:
        raise Conflict("you cannot delete your own account; ask another admin")
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.delete(user)
    session.commit()
    log.info("staff user %s deleted by %s", username, acting.username)
