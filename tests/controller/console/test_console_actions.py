"""Console forms: commands, revoke and re-issue for operators; viewers see and may post nothing."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from station_controller.commands.models import CommandRecord
from station_controller.registry.models import Device

Csrf = Callable[[str], str]


def test_viewer_sees_no_forms_and_posts_are_refused(viewer: TestClient, csrf_from: Csrf) -> None:
    page = viewer.get("/console/devices/stb-sn-a1")
    assert 'data-testid="command-form"' not in page.text
    assert 'data-testid="revoke-form"' not in page.text
    assert 'data-testid="reissue-form"' not in page.text
    assert "只读账号" in page.text
    token = csrf_from(page.text)  # the logout form's token is valid for this session
    for action, data in (("commands", {"name": "ping"}), ("revoke", {}), ("token", {})):
        response = viewer.post(f"/console/devices/stb-sn-a1/{action}", data={"csrf": token, **data})
        assert response.status_code == 403, action
        assert "无权限" in response.text


def test_operator_sends_a_command(
    operator: TestClient, app: FastAPI, csrf_from: Csrf, factory: sessionmaker[Session]
) -> None:
    page = operator.get("/console/devices/stb-sn-a1")
    for part in ('data-testid="command-form"', 'data-testid="revoke-form"', 'data-testid="reissue-form"'):
        assert part in page.text
    response = operator.post(
        "/console/devices/stb-sn-a1/commands", data={"csrf": csrf_from(page.text), "name": "diagnostics"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/devices/stb-sn-a1?done=command"
    sent = app.state.publisher.sent
    assert [m["topic"] for m in sent] == ["st/v1/stb-sn-a1/cmd"]
    assert json.loads(sent[0]["payload"])["body"]["name"] == "diagnostics"
    after = operator.get(response.headers["location"])
    assert "命令已发送" in after.text
    assert "<code>diagnostics</code>" in after.text
    with factory() as session:
        record = session.query(CommandRecord).one()
        assert record.created_by == "ops"


def test_command_without_form_token_is_refused(operator: TestClient, app: FastAPI) -> None:
    response = operator.post("/console/devices/stb-sn-a1/commands", data={"csrf": "forged", "name": "reboot"})
    assert response.status_code == 403
    assert app.state.publisher.sent == []


def test_only_console_commands_are_accepted(operator: TestClient, app: FastAPI, csrf_from: Csrf) -> None:
    token = csrf_from(operator.get("/console/devices/stb-sn-a1").text)
    response = operator.post("/console/devices/stb-sn-a1/commands", data={"csrf": token, "name": "rm-rf"})
    assert response.status_code == 422
    assert app.state.publisher.sent == []


def test_command_errors_are_shown_on_the_page(operator: TestClient, app: FastAPI, csrf_from: Csrf) -> None:
    token = csrf_from(operator.get("/console/devices/stb-sn-c1").text)
    pending = operator.post("/console/devices/stb-sn-c1/commands", data={"csrf": token, "name": "ping"})
    assert pending.status_code == 409
    assert 'data-testid="flash"' in pending.text
    assert "not enrolled" in pending.text
    app.state.publisher = None  # a process without MQTT
    down = operator.post("/console/devices/stb-sn-a1/commands", data={"csrf": token, "name": "ping"})
    assert down.status_code == 503
    assert "no MQTT connection" in down.text
    assert "failed" in down.text  # the history shows the failed attempt


def test_revoke_then_reissue(operator: TestClient, csrf_from: Csrf, factory: sessionmaker[Session]) -> None:
    token = csrf_from(operator.get("/console/devices/router-sn-b1").text)
    revoked = operator.post("/console/devices/router-sn-b1/revoke", data={"csrf": token})
    assert revoked.status_code == 303
    page = operator.get(revoked.headers["location"])
    assert "设备凭据已吊销" in page.text
    assert "已吊销" in page.text
    again = operator.post("/console/devices/router-sn-b1/revoke", data={"csrf": token})
    assert again.status_code == 409
    reissued = operator.post("/console/devices/router-sn-b1/token", data={"csrf": token})
    assert reissued.status_code == 200
    assert 'data-testid="new-token"' in reissued.text
    assert "待注册" in reissued.text
    with factory() as session:
        device = session.get(Device, "router-sn-b1")
        assert device is not None
        assert device.status == "pending"
        assert device.token_hash
    later = operator.get("/console/devices/router-sn-b1")
    assert 'data-testid="new-token"' not in later.text  # shown once only
