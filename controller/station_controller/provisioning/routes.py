"""Secrets (admin; values never returned), SSH targets, and the dynamic inventory as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..api.deps import AppSettings, DbSession
from ..auth.deps import Admin, Operator, Viewer
from . import secrets as secret_store
from .inventory import build_inventory
from .jobs.service import Selector
from .schemas import SecretIn, SecretOut, TargetBody, TargetOut
from .targets import TargetIn, get_target, put_target

router = APIRouter(prefix="/provisioning", tags=["provisioning"])


@router.post("/secrets", status_code=201)
def store_secret(body: SecretIn, settings: AppSettings, session: DbSession, _user: Admin) -> SecretOut:
    info = secret_store.put_secret(
        session,
        settings=settings,
        name=body.name,
        kind=body.kind,
        value=body.value.get_secret_value(),
    )
    return SecretOut(**info.__dict__)


@router.get("/secrets")
def list_secrets(session: DbSession, _user: Operator) -> list[SecretOut]:
    return [SecretOut(**info.__dict__) for info in secret_store.list_secrets(session)]


@router.delete("/secrets/{name}", status_code=204)
def delete_secret(name: str, session: DbSession, _user: Admin) -> None:
    secret_store.delete_secret(session, name=name)


def _target_out(device_id: str, row: Any) -> TargetOut:
    return TargetOut(
        device_id=device_id,
        host=row.host,
        port=row.port,
        username=row.username,
        password_secret=row.password_secret,
        key_secret=row.key_secret,
        profile=row.profile,
        vars=row.vars or {},
    )


@router.put("/targets/{device_id}")
def set_target(device_id: str, body: TargetBody, session: DbSession, _user: Operator) -> TargetOut:
    row = put_target(session, device_id=device_id, data=TargetIn(**body.model_dump()))
    return _target_out(device_id, row)


@router.get("/targets/{device_id}")
def read_target(device_id: str, session: DbSession, _user: Viewer) -> TargetOut:
    return _target_out(device_id, get_target(session, device_id=device_id))


@router.get("/inventory")
def inventory(
    session: DbSession,
    _user: Operator,
    region: str | None = None,
    tag: Annotated[list[str] | None, Query()] = None,
    role: str | None = None,
) -> dict[str, Any]:
    """The same JSON as ``python -m station_controller.provisioning.inventory --list``."""
    return build_inventory(session, selector=Selector(region=region, tags=tag or [], role=role))
