"""Config operations as provisioning job actions: config.backup/import/push/drift/rollback."""

from __future__ import annotations

from collections.abc import Callable

from ...errors import ControllerError
from ..errors import ActionFailed, DeviceUnreachable
from ..jobs.contract import ActionContext, ActionDeps, ActionRegistry, DeviceOutcome
from ..legacy.errors import LegacyError, RouterUnreachable
from ..legacy.ssh import NetmikoConnector, RouterConnector, SshParams
from . import device_ops
from .device_ops import OpResult, RouterOp

Operation = Callable[[RouterOp], OpResult]
OPERATIONS: dict[str, Operation] = {
    "config.backup": device_ops.backup,
    "config.import": device_ops.import_router,
    "config.push": device_ops.push,
    "config.drift": device_ops.drift,
    "config.rollback": device_ops.rollback,
}


def ssh_params(ctx: ActionContext, deps: ActionDeps) -> SshParams:
    """How to reach the job's device; the password / key come from the encrypted secrets store."""
    device = ctx.device
    if not device.host or not device.profile:
        raise ActionFailed(
            f"{device.device_id} has no SSH target with a profile: "
            f"PUT /api/v1/provisioning/targets/{device.device_id} with host and profile"
        )
    settings = deps.settings
    return SshParams(
        device_id=device.device_id,
        device_type=device.profile,
        host=device.host,
        port=device.port,
        username=device.username or "root",
        password=ctx.secrets.password(),
        private_key=ctx.secrets.private_key(),
        conn_timeout_s=settings.legacy_ssh_connect_timeout_s,
        auth_timeout_s=settings.legacy_ssh_connect_timeout_s,
        read_timeout_s=settings.legacy_ssh_read_timeout_s,
    )


class ConfigAction:
    """One config operation, run per device by the job runner."""

    def __init__(self, name: str, deps: ActionDeps, connector: RouterConnector | None = None) -> None:
        self.name = name
        self._deps = deps
        self._connector = connector or NetmikoConnector()
        self._operation = OPERATIONS[name]

    def run(self, ctx: ActionContext) -> DeviceOutcome:
        op = RouterOp(
            ssh=ssh_params(ctx, self._deps),
            session_factory=self._deps.session_factory,
            settings=self._deps.settings,
            connector=self._connector,
            log=ctx.log,
            dry_run=ctx.dry_run,
            job_id=ctx.job_id,
            params=ctx.params,
        )
        try:
            result = self._operation(op)
        except RouterUnreachable as exc:
            raise DeviceUnreachable(str(exc)) from exc
        except LegacyError as exc:
            raise ActionFailed(str(exc)) from exc
        except ControllerError as exc:
            raise ActionFailed(exc.detail) from exc
        return DeviceOutcome(
            status=result.status, reason=result.reason, diff=result.diff, data=dict(result.data)
        )


def register(registry: ActionRegistry, deps: ActionDeps, connector: RouterConnector | None = None) -> None:
    for name in OPERATIONS:
        registry.add(ConfigAction(name, deps, connector))
