"""Drafts, versions, inherited variables, push/rollback bookkeeping and drift on SQLite and PostgreSQL.

The router is a fake behind the RouterConnector Protocol; tests/integration/provisioning drives a real sshd.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session, sessionmaker

from station_controller.provisioning.configs import backups, device_ops, drafts, state
from station_controller.provisioning.configs.actions import ConfigAction
from station_controller.provisioning.configs.errors import DraftClosed, RenderFailed
from station_controller.provisioning.configs.render import render_device
from station_controller.provisioning.errors import ActionFailed
from station_controller.provisioning.jobs.contract import ActionContext, ActionDeps, DeviceTarget
from station_controller.provisioning.legacy.errors import RouterUnreachable
from station_controller.provisioning.legacy.ssh import SshParams
from station_controller.registry.service import get_device
from station_controller.settings import Settings
from tests.controller.provisioning.legacy.helpers import (
    COUNTY,
    TEMPLATE,
    VILLAGE,
    FakeUciRouter,
    add_router,
    baseline_items,
    publish,
)


def op_for(
    db: sessionmaker[Session],
    settings: Settings,
    device_id: str,
    router: FakeUciRouter,
    *,
    dry_run: bool = False,
    lines: list[str] | None = None,
) -> device_ops.RouterOp:
    ssh = SshParams(device_id=device_id, device_type="linux", host="127.0.0.1")
    sink = lines if lines is not None else []
    return device_ops.RouterOp(
        ssh=ssh, session_factory=db, settings=settings, connector=router, log=sink.append, dry_run=dry_run
    )


def rendered_ssid(db: sessionmaker[Session], settings: Settings, device_id: str, **kw: int) -> str:
    with db() as session:
        device = get_device(session, device_id=device_id)
        return render_device(
            session, device=device, settings=settings, profile="linux", **kw
        ).intent.wifi.ssid


def test_variables_inherit_global_region_station_device(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    one = add_router(db, db_settings, serial="R1", station="st-1")
    two = add_router(db, db_settings, serial="R2", station="st-2")
    publish(db, db_settings, items=baseline_items())
    assert rendered_ssid(db, db_settings, one) == "唐河县 Free WiFi"  # the county overrides the global value
    publish(
        db,
        db_settings,
        items=[
            ("variable", "station", "st-2", ("ssid", "二号站")),
            ("variable", "region", VILLAGE, ("down_kbps", 4096)),
        ],
    )
    assert rendered_ssid(db, db_settings, one) == "唐河县 Free WiFi"
    assert rendered_ssid(db, db_settings, two) == "二号站"
    publish(db, db_settings, items=[("variable", "device", two, ("ssid", "设备级"))])
    assert rendered_ssid(db, db_settings, two) == "设备级"
    assert rendered_ssid(db, db_settings, two, seq=1) == "唐河县 Free WiFi"  # old revisions stay renderable
    with db() as session:
        device = get_device(session, device_id=one)
        rate = render_device(session, device=device, settings=db_settings, profile="linux").intent.rate
    assert rate is not None
    assert rate.down_kbps == 4096


def test_a_draft_changes_nothing_until_published(db: sessionmaker[Session], db_settings: Settings) -> None:
    device_id = add_router(db, db_settings, serial="R1", station="st-1")
    publish(db, db_settings, items=baseline_items())
    with db() as session:
        draft = drafts.create_draft(session, user="ops", message="new county SSID")
        drafts.set_item(
            session,
            draft_id=draft.id,
            kind="variable",
            scope="region",
            scope_key=COUNTY,
            name="ssid",
            value="新名字",
        )
        preview = drafts.draft_diff(session, settings=db_settings, draft_id=draft.id)
    assert rendered_ssid(db, db_settings, device_id) == "唐河县 Free WiFi"
    assert preview[0]["device_id"] == device_id
    assert "+wireless.sf_guest.ssid='新名字'" in preview[0]["diff"]
    with db() as session:
        revision = drafts.publish_draft(session, settings=db_settings, draft_id=draft.id, user="ops")
        assert revision.seq == 2
        with pytest.raises(DraftClosed):
            drafts.set_item(session, draft_id=draft.id, kind="variable", name="ssid", value="x")
    assert rendered_ssid(db, db_settings, device_id) == "新名字"


def test_a_draft_that_does_not_render_cannot_be_published(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    add_router(db, db_settings, serial="R1", station="st-1")
    publish(db, db_settings, items=baseline_items())
    with db() as session:
        draft = drafts.create_draft(session, user="ops")
        drafts.set_item(session, draft_id=draft.id, kind="variable", name="vlan_id", delete=True)
        with pytest.raises(RenderFailed, match="vlan_id"):
            drafts.publish_draft(session, settings=db_settings, draft_id=draft.id, user="ops")
        with pytest.raises(RenderFailed, match="line 1"):
            drafts.set_item(session, draft_id=draft.id, kind="template", name="router", value="{% if %}")
        drafts.discard_draft(session, draft_id=draft.id)
        assert [r.status for r in drafts.list_revisions(session)] == ["discarded", "published"]


def test_push_records_versions_and_drift_is_explicit(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    device_id = add_router(db, db_settings, serial="R1", station="st-1")
    router = FakeUciRouter()
    publish(db, db_settings, items=baseline_items())
    with db() as session:
        assert [v.state for v in state.fleet_view(session, settings=db_settings).routers] == ["unmanaged"]
    assert device_ops.import_router(op_for(db, db_settings, device_id, router)).status == "ok"
    with db() as session:
        assert [v.state for v in state.fleet_view(session, settings=db_settings).routers] == ["pending"]

    dry = device_ops.push(op_for(db, db_settings, device_id, router, dry_run=True))
    assert (dry.status, "sf_guest" in json.dumps(router.config)) == ("changed", False)
    assert device_ops.push(op_for(db, db_settings, device_id, router)).status == "changed"
    with db() as session:
        views = state.fleet_view(session, settings=db_settings).routers
        assert [(v.state, v.applied_seq, v.desired_seq) for v in views] == [("applied", 1, 1)]

    # A region-level variable changes: the router is pending at once, without anyone touching it.
    publish(db, db_settings, items=[("variable", "region", COUNTY, ("ssid", "新名字"))])
    with db() as session:
        assert [v.state for v in state.fleet_view(session, settings=db_settings).routers] == ["pending"]
    assert device_ops.push(op_for(db, db_settings, device_id, router)).status == "changed"

    router.config["wireless.sf_guest.ssid"] = "hand-edited"
    result = device_ops.drift(op_for(db, db_settings, device_id, router))
    assert result.status == "failed"
    assert "+wireless.sf_guest.ssid='hand-edited'" in result.diff
    with db() as session:
        assert state.fleet_view(session, settings=db_settings).summary["drifted"] == 1
    # Pushing again restores the applied config and clears the drift.
    assert device_ops.push(op_for(db, db_settings, device_id, router)).status == "changed"
    assert device_ops.drift(op_for(db, db_settings, device_id, router)).status == "ok"
    with db() as session:
        assert [v.state for v in state.fleet_view(session, settings=db_settings).routers] == ["applied"]

    # A change outside the managed lines: a push has nothing to send and does not hide the drift.
    router.config["system.cfg01.hostname"] = "renamed-by-hand"
    assert device_ops.drift(op_for(db, db_settings, device_id, router)).status == "failed"
    assert device_ops.push(op_for(db, db_settings, device_id, router)).status == "ok"
    with db() as session:
        assert [v.state for v in state.fleet_view(session, settings=db_settings).routers] == ["drifted"]
    # Importing accepts the router as it is; the next push records it as applied again.
    device_ops.import_router(op_for(db, db_settings, device_id, router))
    assert device_ops.push(op_for(db, db_settings, device_id, router)).status == "ok"
    with db() as session:
        assert [v.state for v in state.fleet_view(session, settings=db_settings).routers] == ["applied"]


def test_failed_verification_rolls_back_and_keeps_the_applied_version(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    device_id = add_router(db, db_settings, serial="R1", station="st-1")
    router = FakeUciRouter()
    publish(db, db_settings, items=baseline_items())
    device_ops.push(op_for(db, db_settings, device_id, router))
    before = dict(router.config)
    publish(db, db_settings, items=[("variable", "global", "", ("up_kbps", 1024))])
    router.ignored.add("sqm.sf_guest.upload")
    lines: list[str] = []
    result = device_ops.push(op_for(db, db_settings, device_id, router, lines=lines))
    assert result.status == "failed"
    assert "sqm.sf_guest.upload='1024'" in result.reason
    assert router.config == before
    with db() as session:
        row = state.get_state(session, device_id=device_id)
        assert row is not None
        assert (row.status, row.applied_seq) == ("failed", 1)
        history = backups.list_backups(session, device_id=device_id)
        assert [b.reason for b in history][:2] == ["rollback", "pre-push"]
        assert backups.backup_diff(session, backup_id=history[0].id) == ""  # restored == the backup
    assert any("restoring the backup" in line for line in lines)


def test_explicit_rollback_restores_the_last_good_backup(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    device_id = add_router(db, db_settings, serial="R1", station="st-1")
    router = FakeUciRouter()
    imported = dict(router.config)
    publish(db, db_settings, items=baseline_items())
    device_ops.import_router(op_for(db, db_settings, device_id, router))
    device_ops.push(op_for(db, db_settings, device_id, router))
    assert router.config != imported
    result = device_ops.rollback(op_for(db, db_settings, device_id, router))
    assert result.status == "changed"
    assert "-wireless.sf_guest=wifi-iface" in result.diff
    # The newest good backup differing from the running config is the pre-push one (= the import).
    assert router.config == imported


def test_backups_keep_history_with_diffs_and_prune(db: sessionmaker[Session], db_settings: Settings) -> None:
    device_id = add_router(db, db_settings, serial="R1", station="st-1")
    router = FakeUciRouter()
    op = op_for(db, db_settings.model_copy(update={"config_backups_keep": 3}), device_id, router)
    device_ops.import_router(op)
    assert device_ops.backup(op).data["new"] is False  # unchanged since the import
    for n in range(5):
        router.config["system.cfg01.hostname"] = f"GW{n}"
        assert device_ops.backup(op).data["new"] is True
    with db() as session:
        history = backups.list_backups(session, device_id=device_id)
        assert [b.reason for b in history] == ["backup", "backup", "backup", "import"]  # imports are kept
        diff = backups.backup_diff(session, backup_id=history[0].id)
    assert "-system.cfg01.hostname='GW3'\n+system.cfg01.hostname='GW4'" in diff


def test_an_unreachable_router_is_reported_and_nothing_is_recorded(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    device_id = add_router(db, db_settings, serial="R1", station="st-1")
    publish(db, db_settings, items=baseline_items())
    with pytest.raises(RouterUnreachable):
        device_ops.push(op_for(db, db_settings, device_id, FakeUciRouter(reachable=False)))
    with db() as session:
        assert backups.list_backups(session, device_id=device_id) == []
        assert state.get_state(session, device_id=device_id) is None


def test_missing_template_names_what_to_do(db: sessionmaker[Session], db_settings: Settings) -> None:
    device_id = add_router(db, db_settings, serial="R1", station="st-1")
    with db() as session, pytest.raises(RenderFailed, match="no template 'router'"):
        render_device(
            session, device=get_device(session, device_id=device_id), settings=db_settings, profile="linux"
        )
    assert TEMPLATE.startswith("[wifi]")


def test_fleet_view_states_pages_and_routers_added_after_publishing(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    first = add_router(db, db_settings, serial="R1", station="st-1")
    device_ops.import_router(op_for(db, db_settings, first, FakeUciRouter()))
    with db() as session:
        assert [v.state for v in state.fleet_view(session, settings=db_settings).routers] == ["baseline"]
    publish(db, db_settings, items=baseline_items())
    # Added after the publish: rendered once on read, its hash stored, then it counts like the others.
    late = add_router(db, db_settings, serial="R2", station="st-2")
    device_ops.import_router(op_for(db, db_settings, late, FakeUciRouter()))
    broken = add_router(db, db_settings, serial="R3", station="st-3")
    device_ops.import_router(op_for(db, db_settings, broken, FakeUciRouter()))
    with db() as session:
        drafts.set_item(
            session, draft_id=drafts.create_draft(session, user="x").id, kind="variable", name="x", value=1
        )
        page = state.fleet_view(session, settings=db_settings, limit=2)
    assert page.summary["pending"] == 3
    assert (page.total, [v.device_id for v in page.routers]) == (3, [first, late])
    # A device-level value no router may get: that router shows the error, the others stay pending.
    publish_bad = [("variable", "device", broken, ("vlan_id", 1))]
    with pytest.raises(RenderFailed, match=broken):
        publish(db, db_settings, items=publish_bad)
    with db() as session:
        only = state.fleet_view(session, settings=db_settings, only="pending", offset=2)
    assert (only.total, [v.device_id for v in only.routers]) == (3, [broken])
    # Accepted for a station without routers yet; the router added there later shows the error.
    publish(db, db_settings, items=[("variable", "station", "st-4", ("vlan_id", 1))])
    fourth = add_router(db, db_settings, serial="R4", station="st-4")
    device_ops.import_router(op_for(db, db_settings, fourth, FakeUciRouter()))
    with db() as session:
        errors = state.fleet_view(session, settings=db_settings, only="render_error").routers
    assert [(v.device_id, "[vlan] id" in v.detail or v.detail) for v in errors] == [(fourth, True)]


def test_a_draft_can_be_dry_run_against_the_router_but_not_pushed(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    device_id = add_router(db, db_settings, serial="R1", station="st-1")
    router = FakeUciRouter()
    publish(db, db_settings, items=baseline_items())
    with db() as session:
        draft = drafts.create_draft(session, user="ops")
        drafts.set_item(session, draft_id=draft.id, kind="variable", name="up_kbps", value=512)
    dry = device_ops.RouterOp(
        **{**vars(op_for(db, db_settings, device_id, router, dry_run=True)), "params": {"draft_id": draft.id}}
    )
    result = device_ops.push(dry)
    assert result.status == "changed"
    assert f"+++ draft #{draft.id}" in result.diff
    assert "+sqm.sf_guest.upload='512'" in result.diff
    assert "sqm.sf_guest.upload" not in router.config
    real = device_ops.RouterOp(
        **{**vars(op_for(db, db_settings, device_id, router)), "params": {"draft_id": draft.id}}
    )
    refused = device_ops.push(real)
    assert (refused.status, "publish it" in refused.reason) == ("failed", True)
    assert router.commands == ["uci show"]  # the dry run read the router; nothing was sent


def test_the_action_needs_a_target_with_a_profile(db: sessionmaker[Session], db_settings: Settings) -> None:
    class NoSecrets:
        def password(self) -> str | None:
            return None

        def private_key(self) -> str | None:
            return None

        def named(self, name: str) -> str:
            raise KeyError(name)

    action = ConfigAction(
        "config.backup", ActionDeps(settings=db_settings, session_factory=db), FakeUciRouter()
    )
    target = DeviceTarget(
        device_id="router-x",
        role="router",
        serial="X",
        station_code="s",
        station_name="s",
        region_path=VILLAGE,
        host="10.77.0.2",
        profile=None,
    )
    ctx = ActionContext(job_id=1, device=target, secrets=NoSecrets(), dry_run=False, params={}, log=print)
    with pytest.raises(ActionFailed, match="PUT /api/v1/provisioning/targets/router-x"):
        action.run(ctx)
