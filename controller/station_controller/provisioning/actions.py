"""Actions this package provides (discovered by ``jobs.contract.discover_actions``)."""

from __future__ import annotations

from .ansible import AnsibleRunner
from .bootstrap import BootstrapAction
from .jobs.contract import ActionDeps, ActionRegistry


def register(registry: ActionRegistry, deps: ActionDeps) -> None:
    work_dir = deps.settings.data_dir / "provisioning" / "ansible"
    registry.add(BootstrapAction(deps.settings, deps.session_factory, AnsibleRunner(work_dir=work_dir)))
