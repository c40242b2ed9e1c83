"""Staff auth: login (bearer + cookie), logout, expiry, roles and /staff management."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from station_controller.auth.models import StaffSession
from station_controller.kernel.clock import utcnow
from tests.controller.api.core_fixtures import PASSWORD, Api


def test_login_returns_a_bearer_token_and_a_strict_httponly_cookie(api: Api) -> None:
    api.user("viewer", "li.wei")
    reply = api.client.post("/api/v1/auth/login", json={"username": "li.wei", "password": PASSWORD})
    assert reply.status_code == 200
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith("sf_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    token = reply.json()["token"]
    assert api.client.get("/api/v1/auth/me").json()["username"] == "li.wei"  # via the cookie
    api.client.cookies.clear()
    me = api.client.get("/api/v1/auth/me", headers={"authorization": f"Bearer {token}"})
    assert me.json() == {
        "username": "li.wei",
        "role": "viewer",
        "disabled": False,
        "created_at": me.json()["created_at"],
    }
    with api.sessions() as session:
        stored = session.scalars(select(StaffSession.token_hash)).all()
    assert token not in stored


def test_no_or_bad_session_is_401(api: Api) -> None:
    reply = api.client.get("/api/v1/devices")
    assert reply.status_code == 401
    assert reply.json()["error"] == "authentication_required"
    assert "login" in reply.json()["detail"]
    assert api.client.get("/api/v1/devices", headers={"authorization": "Bearer nope"}).status_code == 401


def test_wrong_password_unknown_user_and_disabled_user_cannot_log_in(api: Api) -> None:
    admin = api.user("admin")
    api.user("operator", "op1")
    login = "/api/v1/auth/login"
    assert api.client.post(login, json={"username": "op1", "password": "wrong password!"}).status_code == 401
    assert api.client.post(login, json={"username": "ghost", "password": PASSWORD}).status_code == 401
    assert api.client.patch("/api/v1/staff/op1", json={"disabled": True}, headers=admin).status_code == 200
    assert api.client.post(login, json={"username": "op1", "password": PASSWORD}).status_code == 401


def test_logout_and_expiry_end_the_session(api: Api) -> None:
    viewer = api.user("viewer")
    assert api.client.post("/api/v1/auth/logout", headers=viewer).status_code == 204
    assert api.client.get("/api/v1/auth/me", headers=viewer).status_code == 401
    other = api.user("viewer")
    with api.sessions() as session:
        for record in session.scalars(select(StaffSession)):
            record.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert api.client.get("/api/v1/auth/me", headers=other).status_code == 401


def test_login_failures_are_rate_limited(api: Api) -> None:
    api.user("viewer", "wang")
    for _ in range(api.settings.login_attempts_per_minute):
        reply = api.client.post("/api/v1/auth/login", json={"username": "wang", "password": "not it at all"})
        assert reply.status_code == 401
    blocked = api.client.post("/api/v1/auth/login", json={"username": "wang", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["retryable"] is True


def test_only_admins_manage_staff(api: Api) -> None:
    admin, operator, viewer = api.user("admin", "boss"), api.user("operator"), api.user("viewer")
    new = {"username": "zhang.san", "password": "a long enough secret", "role": "viewer"}
    for headers in (operator, viewer):
        assert api.client.get("/api/v1/staff", headers=headers).status_code == 403
        assert api.client.post("/api/v1/staff", json=new, headers=headers).status_code == 403
    assert api.client.post("/api/v1/staff", json=new, headers=admin).status_code == 201
    assert api.client.post("/api/v1/staff", json=new, headers=admin).status_code == 409
    assert (
        api.client.post(
            "/api/v1/staff", json=new | {"username": "x2", "password": "short"}, headers=admin
        ).status_code
        == 422
    )
    names = [u["username"] for u in api.client.get("/api/v1/staff", headers=admin).json()]
    assert "zhang.san" in names
    assert "boss" in names
    promoted = api.client.patch("/api/v1/staff/zhang.san", json={"role": "operator"}, headers=admin)
    assert promoted.json()["role"] == "operator"
    assert api.client.delete("/api/v1/staff/boss", headers=admin).status_code == 409
    assert api.client.delete("/api/v1/staff/zhang.san", headers=admin).status_code == 204
    assert api.client.get("/api/v1/staff/zhang.san", headers=admin).status_code == 404


def test_disabling_a_user_ends_their_sessions(api: Api) -> None:
    admin = api.user("admin")
    operator = api.user("operator", "op2")
    assert api.client.get("/api/v1/auth/me", headers=operator).status_code == 200
    api.client.patch("/api/v1/staff/op2", json={"disabled": True}, headers=admin)
    assert api.client.get("/api/v1/auth/me", headers=operator).status_code == 401
