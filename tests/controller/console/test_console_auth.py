"""Console login: the gate, the form token, cookie flags, failures shown, logout, rate limiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from station_controller.web import LANDING_PATH

Login = Callable[..., Any]
Csrf = Callable[[str], str]


def test_pages_redirect_to_login_with_next(client: TestClient) -> None:
    for path in ("/console/", "/console/stations/1", "/console/devices/stb-sn-a1"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/login?next=")


def test_root_redirects_to_console(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code in (302, 303, 307, 308)
    assert response.headers["location"] == "/console/"


def test_polling_endpoints_answer_401_json_when_logged_out(client: TestClient) -> None:
    for path in ("/console/status.json", "/console/stations/1/live.json"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["error"] == "authentication_required"


def test_login_sets_strict_httponly_session_cookie(client: TestClient, login: Login) -> None:
    response = login(client, "ops")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("sf_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    page = client.get("/console/")
    assert page.status_code == 200
    assert 'data-testid="current-user"' in page.text
    assert "ops" in page.text
    assert "operator" in page.text


def test_wrong_password_shows_error_in_chinese(client: TestClient, login: Login) -> None:
    response = login(client, "ops", "wrong-password-123")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'data-testid="login-error"' in response.text
    assert "sf_session" not in client.cookies


def test_login_without_form_token_is_refused(client: TestClient, password: str) -> None:
    client.get("/console/login")
    response = client.post("/console/login", data={"username": "ops", "password": password})
    assert response.status_code == 403
    assert "表单已过期" in response.text
    assert "sf_session" not in client.cookies


def test_login_with_token_from_another_browser_is_refused(
    client: TestClient, csrf_from: Csrf, password: str
) -> None:
    token = csrf_from(client.get("/console/login").text)
    with TestClient(client.app, follow_redirects=False) as other:
        other.get("/console/login")  # its own nonce cookie, which the stolen token does not match
        response = other.post("/console/login", data={"csrf": token, "username": "ops", "password": password})
    assert response.status_code == 403


def test_next_only_follows_console_paths(client: TestClient, csrf_from: Csrf, password: str) -> None:
    token = csrf_from(client.get("/console/login").text)
    response = client.post(
        "/console/login",
        data={"csrf": token, "username": "ops", "password": password, "next": "//evil.example/x"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == LANDING_PATH


def test_next_returns_to_the_wanted_page(client: TestClient, csrf_from: Csrf, password: str) -> None:
    wanted = client.get("/console/devices/stb-sn-a1").headers["location"]
    page = client.get(wanted)
    token = csrf_from(page.text)
    assert 'value="/console/devices/stb-sn-a1"' in page.text
    response = client.post(
        "/console/login",
        data={"csrf": token, "username": "ops", "password": password, "next": "/console/devices/stb-sn-a1"},
    )
    assert response.headers["location"] == "/console/devices/stb-sn-a1"


def test_logout_ends_the_session(operator: TestClient, csrf_from: Csrf) -> None:
    token = csrf_from(operator.get("/console/").text)
    session_cookie = operator.cookies["sf_session"]
    response = operator.post("/console/logout", data={"csrf": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    operator.cookies.set("sf_session", session_cookie)  # replaying the old cookie must not work
    assert operator.get("/console/").status_code == 303


def test_repeated_failures_are_rate_limited(client: TestClient, login: Login) -> None:
    for _ in range(5):  # settings.login_attempts_per_minute = 5 in these tests
        assert login(client, "ops", "wrong-password-123").status_code == 401
    response = login(client, "ops")
    assert response.status_code == 429
    assert "登录失败次数过多" in response.text
