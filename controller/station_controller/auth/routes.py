"""Staff auth routes: login, logout, me, and /staff user management (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from ..api.deps import SESSION_COOKIE, AppSettings, DbSession, client_ip, request_token
from ..errors import AuthenticationRequired
from . import service
from .deps import Admin, CurrentUser, LoginLimiter
from .schemas import LoginRequest, LoginResponse, StaffCreate, StaffOut, StaffUpdate

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=LoginResponse)
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    limiter: LoginLimiter,
) -> LoginResponse:
    """Exchange username + password for a session token (also set as an HttpOnly cookie).

    Failures delay only this (account, source) pair and, past a larger budget, this source: the
    correct password from another source is always accepted (auth/limits.py).
    """
    source = client_ip(request)
    limiter.check(body.username, source)
    try:
        token, record = service.login(
            session, settings=settings, username=body.username, password=body.password
        )
    except AuthenticationRequired:
        limiter.failed(body.username, source)
        raise
    limiter.succeeded(body.username, source)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.staff_session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=settings.public_url.startswith("https://"),
        path="/",
    )
    return LoginResponse(token=token, expires_at=record.expires_at, user=StaffOut.model_validate(record.user))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, session: DbSession, _user: CurrentUser) -> None:
    token = request_token(request)
    if token:
        service.logout(session, token=token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/me", response_model=StaffOut)
def me(user: CurrentUser) -> StaffOut:
    return StaffOut.model_validate(user)


@router.get("/staff", response_model=list[StaffOut])
def list_staff(session: DbSession, _admin: Admin) -> list[StaffOut]:
    return [StaffOut.model_validate(u) for u in service.list_users(session)]


@router.post("/staff", response_model=StaffOut, status_code=status.HTTP_201_CREATED)
def create_staff(body: StaffCreate, session: DbSession, _admin: Admin) -> StaffOut:
    user = service.create_user(session, username=body.username, password=body.password, role=body.role)
    return StaffOut.model_validate(user)


@router.get("/staff/{username}", response_model=StaffOut)
def get_staff(username: str, session: DbSession, _admin: Admin) -> StaffOut:
    return StaffOut.model_validate(service.get_user(session, username=username))


@router.patch("/staff/{username}", response_model=StaffOut)
def update_staff(username: str, body: StaffUpdate, session: DbSession, _admin: Admin) -> StaffOut:
    user = service.update_user(
        session, username=username, role=body.role, disabled=body.disabled, password=body.password
    )
    return StaffOut.model_validate(user)


@router.delete("/staff/{username}", status_code=status.HTTP_204_NO_CONTENT)
def delete_staff(username: str, session: DbSession, admin: Admin) -> None:
    service.delete_user(session, username=username, acting=admin)
