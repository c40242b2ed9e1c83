"""The web kit as a feature uses it: a page router of its own with ConsoleUser / ConsoleOperator /
CsrfToken, a template extending base.html from its own folder, a menu entry, and errors raised (never
caught) in the route, answered by the one HTML error handler."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from station_controller.api.deps import AppSettings
from station_controller.errors import Conflict, ControllerError, NotFound
from station_controller.plugins import NavLink
from station_controller.web import (
    LANDING_PATH,
    ConsoleOperator,
    ConsoleUser,
    CsrfToken,
    Flash,
    install_features,
    render,
    show_errors_with,
)

Csrf = Callable[[str], str]
Login = Callable[..., Any]

PAGE = """{% extends "base.html" %}
{% block title %}Kit{% endblock %}
{% block content %}<p data-testid="kit-page">{{ t('station') }} {{ thing }}</p>{% endblock %}
"""


def kit_router() -> APIRouter:
    router = APIRouter(prefix="/console/kit", include_in_schema=False)

    @router.get("/")
    def page(request: Request, user: ConsoleUser, settings: AppSettings) -> Response:
        return render(request, "kit_page.html", {"thing": "ok"}, settings=settings, user=user)

    @router.get("/missing")
    def missing(_user: ConsoleUser) -> Response:
        raise NotFound("thing 7 does not exist; pick one from the list")

    @router.get("/poll.json")
    def poll(_user: ConsoleUser) -> dict[str, bool]:
        return {"ok": True}

    @router.post("/act")
    def act(_user: ConsoleOperator, _csrf: CsrfToken) -> Response:
        return RedirectResponse("/console/kit/", status_code=303)

    @router.post("/flash")
    def flash(request: Request, user: ConsoleOperator, _csrf: CsrfToken, settings: AppSettings) -> Response:
        def view(exc: ControllerError, _session: Session) -> Response:
            context = {"thing": "again"}
            shown = Flash("error", exc.detail)
            return render(
                request,
                "kit_page.html",
                context,
                settings=settings,
                user=user,
                status_code=exc.status,
                flash=shown,
            )

        show_errors_with(request, view)
        raise Conflict("the thing is busy; try again in a minute")

    return router


@pytest.fixture
def kit_app(app: FastAPI, tmp_path: Path) -> FastAPI:
    (tmp_path / "kit_page.html").write_text(PAGE, encoding="utf-8")
    install_features(nav=[NavLink("/console/kit/", "工具", "Kit", order=1)], template_dirs=[tmp_path])
    app.include_router(kit_router())
    return app


@pytest.fixture
def kit_client(kit_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(kit_app, follow_redirects=False) as client:
        yield client


def test_a_feature_page_renders_in_the_console_chrome(kit_client: TestClient, login: Login) -> None:
    logged_out = kit_client.get("/console/kit/")
    assert logged_out.status_code == 303
    assert logged_out.headers["location"] == "/console/login?next=%2Fconsole%2Fkit%2F"
    assert login(kit_client, "watcher").status_code == 303
    page = kit_client.get("/console/kit/")
    assert page.status_code == 200
    assert 'data-testid="kit-page">站点 ok<' in page.text  # common labels in t()
    assert 'href="/console/kit/">工具</a>' in page.text  # the feature's menu entry
    assert 'data-testid="current-user">watcher' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_roles_and_form_tokens_are_checked_by_the_dependencies(
    kit_app: FastAPI, kit_client: TestClient, login: Login, csrf_from: Csrf
) -> None:
    login(kit_client, "watcher")
    token = csrf_from(kit_client.get("/console/kit/").text)
    refused = kit_client.post("/console/kit/act", data={"csrf": token})
    assert refused.status_code == 403
    assert 'data-testid="error-title">无权限执行此操作<' in refused.text
    assert "this needs the operator role" in refused.text
    operator = TestClient(kit_app, follow_redirects=False)
    login(operator, "ops")
    token = csrf_from(operator.get("/console/kit/").text)
    forged = operator.post("/console/kit/act", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert "表单已过期" in forged.text
    done = operator.post("/console/kit/act", data={"csrf": token})
    assert done.status_code == 303
    assert done.headers["location"] == "/console/kit/"


def test_a_raised_domain_error_becomes_the_error_page(kit_client: TestClient, login: Login) -> None:
    login(kit_client, "watcher")
    page = kit_client.get("/console/kit/missing")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-testid="error-title">未找到<' in page.text
    assert "thing 7 does not exist" in page.text
    assert 'data-testid="current-user">watcher' in page.text  # the menu still knows the user


def test_polling_json_keeps_the_json_error(kit_client: TestClient, login: Login) -> None:
    logged_out = kit_client.get("/console/kit/poll.json")
    assert logged_out.status_code == 401
    assert logged_out.json()["error"] == "authentication_required"
    login(kit_client, "watcher")
    assert kit_client.get("/console/kit/poll.json").json() == {"ok": True}


def test_an_error_view_shows_the_error_on_the_form_page(
    kit_client: TestClient, login: Login, csrf_from: Csrf
) -> None:
    login(kit_client, "ops")
    token = csrf_from(kit_client.get("/console/kit/").text)
    page = kit_client.post("/console/kit/flash", data={"csrf": token})
    assert page.status_code == 409
    assert 'data-testid="flash">the thing is busy; try again in a minute<' in page.text
    assert 'data-testid="kit-page">站点 again<' in page.text


def test_login_lands_on_the_landing_path(client: TestClient, csrf_from: Csrf, password: str) -> None:
    token = csrf_from(client.get("/console/login").text)
    landed = client.post("/console/login", data={"csrf": token, "username": "ops", "password": password})
    assert landed.status_code == 303
    assert landed.headers["location"] == LANDING_PATH
    assert client.get("/console/login").headers["location"] == LANDING_PATH  # already logged in
