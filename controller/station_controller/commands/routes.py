"""Command routes: send (optionally wait for the result), poll, history, desired config."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from station_protocol import new_id

from ..api.deps import AppSettings, DbSession
from ..auth.deps import Operator, Viewer
from . import service
from .deps import Publisher, Waiters
from .schemas import CommandCreate, CommandOut, CommandPage, ConfigOut, ConfigPut

router = APIRouter(tags=["commands"])
MAX_WAIT_S = 60.0
Wait = Annotated[float, Query(ge=0, le=MAX_WAIT_S, description="seconds to wait for the result")]


@router.post(
    "/devices/{device_id}/commands",
    response_model=CommandOut,
    responses={202: {"model": CommandOut, "description": "no result yet; poll GET /commands/{id}"}},
)
def send_command(
    device_id: str,
    body: CommandCreate,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    publisher: Publisher,
    waiters: Waiters,
    user: Operator,
    wait: Wait = 0,
) -> CommandOut:
    """Send a command; with ``wait`` the answer comes back in this response (200) or 202 to poll."""
    command_id = new_id()
    with waiters.expect(command_id) as answered:
        service.send_command(
            session,
            settings=settings,
            publisher=publisher,
            device_id=device_id,
            name=body.name,
            args=body.args,
            timeout_s=body.timeout_s,
            created_by=user.username,
            command_id=command_id,
        )
        if wait:
            answered.wait(wait)
    record = service.get_command(session, command_id=command_id)
    if record.status in service.PENDING:
        response.status_code = status.HTTP_202_ACCEPTED
    return CommandOut.model_validate(record)


@router.get("/commands/{command_id}", response_model=CommandOut)
def get_command(
    command_id: str, session: DbSession, waiters: Waiters, _user: Viewer, wait: Wait = 0
) -> CommandOut:
    """One command and its result (``status`` stays ``queued``/``sent`` until the device answers)."""
    record = service.get_command(session, command_id=command_id)
    if record.status in service.PENDING and wait:
        with waiters.expect(command_id) as answered:
            record = service.get_command(session, command_id=command_id)
            if record.status in service.PENDING:
                answered.wait(wait)
        record = service.get_command(session, command_id=command_id)
    return CommandOut.model_validate(record)


@router.get("/devices/{device_id}/commands", response_model=CommandPage)
def command_history(
    device_id: str,
    session: DbSession,
    _user: Viewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CommandPage:
    """The device's commands, newest first."""
    records, total = service.command_history(session, device_id=device_id, limit=limit, offset=offset)
    return CommandPage(items=[CommandOut.model_validate(r) for r in records], total=total)


@router.put("/devices/{device_id}/config", response_model=ConfigOut)
def put_config(
    device_id: str, body: ConfigPut, session: DbSession, publisher: Publisher, _user: Operator
) -> ConfigOut:
    """Replace the desired config: version + 1, published retained on ``config/desired``."""
    device = service.set_desired_config(session, publisher=publisher, device_id=device_id, config=body.config)
    return ConfigOut(
        device_id=device.id,
        desired_config_version=device.desired_config_version,
        desired_config=device.desired_config,
        reported_config_version=device.reported_config_version,
    )
