"""``stationctl config``: drafts, diffs, apply (publish + push job), backups and drift checks of routers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from .client import CliError, api, checked

BASE = "/api/v1/provisioning/configs"
FINAL = ("ok", "changed", "failed", "unreachable", "cancelled")


def _selector(args: argparse.Namespace) -> dict[str, Any]:
    selector = {
        "region": args.region,
        "station": args.station,
        "tags": args.tag or [],
        "device_ids": args.device or [],
        "role": "router",
    }
    if not (args.region or args.station or args.tag or args.device):
        raise CliError("name the routers: --region, --station, --tag or --device")
    return selector


def _watch(client: httpx.Client, job_id: int, *, quiet: bool) -> dict[str, Any]:
    """Poll the job with a progress bar until every device has a result; returns the job detail."""
    columns = (
        TextColumn("job {task.fields[job]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
    )
    with Progress(*columns, disable=quiet) as bar:
        task = bar.add_task("job", total=None, job=job_id, counts="")
        while True:
            job = checked(client.get(f"/api/v1/provisioning/jobs/{job_id}"))
            counts = job.get("counts", {})
            done = sum(counts.get(s, 0) for s in FINAL)
            shown = " ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v)
            bar.update(task, total=sum(counts.values()) or None, completed=done, counts=shown)
            if job["status"] in ("done", "cancelled", "interrupted"):
                return dict(job)
            time.sleep(1.0)


def _report(job: dict[str, Any], *, show_diff: bool) -> int:
    out = Console()
    table = Table("device", "result", "reason")
    for device in job.get("devices", []):
        table.add_row(device["device_id"], device["status"], device["reason"][:200])
    out.print(table)
    if show_diff:
        for device in job.get("devices", []):
            if device["diff"]:
                out.print(f"--- {device['device_id']}", markup=False)
                out.print(device["diff"], markup=False, highlight=False)
    failed = [d for d in job.get("devices", []) if d["status"] in ("failed", "unreachable")]
    if failed:
        sys.stderr.write(
            f"{len(failed)} router(s) failed; `stationctl provision retry {job['id']}` reruns them\n"
        )
    return 1 if failed else 0


def _run_job(args: argparse.Namespace, action: str, params: dict[str, Any] | None = None) -> int:
    with api() as client:
        body = {
            "action": action,
            "selector": _selector(args),
            "params": params or {},
            "dry_run": bool(getattr(args, "dry_run", False)),
            "concurrency": args.concurrency,
        }
        job = checked(client.post("/api/v1/provisioning/jobs", json=body))
        job = _watch(client, int(job["id"]), quiet=args.quiet)
    return _report(job, show_diff=bool(getattr(args, "dry_run", False)) or action == "config.drift")


def _draft_new(args: argparse.Namespace) -> int:
    with api() as client:
        draft = checked(client.post(f"{BASE}/drafts", json={"message": args.message}))
    sys.stdout.write(f"draft #{draft['id']} created\n")
    return 0


def _draft_set(args: argparse.Namespace) -> int:
    if args.template:
        body: dict[str, Any] = {
            "kind": "template",
            "name": args.template,
            "value": Path(args.file).read_text(encoding="utf-8") if args.file else None,
        }
    else:
        name, sep, raw = (args.variable or "").partition("=")
        if not sep:
            raise CliError("--variable NAME=VALUE (VALUE is JSON, or plain text)")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        body = {"kind": "variable", "name": name, "value": value, "scope": args.scope, "scope_key": args.key}
    body["delete"] = args.delete
    with api() as client:
        checked(client.put(f"{BASE}/drafts/{args.draft}/items", json=body))
    sys.stdout.write(
        f"draft #{args.draft}: {body['kind']} {body['name']} {'deleted' if args.delete else 'set'}\n"
    )
    return 0


def _diff(args: argparse.Namespace) -> int:
    with api() as client:
        rows = checked(client.get(f"{BASE}/drafts/{args.draft}/diff"))
    changed = 0
    for row in rows:
        if row["error"]:
            sys.stdout.write(f"!!! {row['device_id']}: {row['error']}\n")
        elif row["diff"]:
            changed += 1
            sys.stdout.write(f"=== {row['device_id']} ({row['station_code']})\n{row['diff']}")
    broken = len(rows) - changed
    sys.stdout.write(f"{changed} router(s) change, {broken} do not render with this draft\n")
    return 1 if broken else 0


def _apply(args: argparse.Namespace) -> int:
    """Publish the draft (unless --dry-run), then push the new revision to the selected routers."""
    _selector(args)
    params: dict[str, Any] = {"draft_id": args.draft}  # a dry run renders the draft, unpublished
    if not args.dry_run:
        with api() as client:
            revision = checked(client.post(f"{BASE}/drafts/{args.draft}/publish"))
        sys.stdout.write(f"draft #{args.draft} published as revision {revision['seq']}\n")
        params = {"revision": revision["seq"]}
    return _run_job(args, "config.push", params)


def _status(args: argparse.Namespace) -> int:
    with api() as client:
        fleet = checked(client.get(f"{BASE}/routers", params={"only": args.state or ""}))
    table = Table("device", "station", "profile", "state", "applied", "newest", "detail")
    for r in fleet["routers"]:
        table.add_row(
            r["device_id"],
            r["station_code"],
            r["profile"],
            r["state"],
            str(r["applied_seq"] or "–"),
            str(r["desired_seq"]),
            r["detail"][:80],
        )
    console = Console()
    console.print(table)
    console.print(" ".join(f"{k}={v}" for k, v in fleet["summary"].items()))
    return 0


def _targets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="region path (subtree)")
    parser.add_argument("--station", help="station code")
    parser.add_argument("--tag", action="append", help="station tag (repeat: all must match)")
    parser.add_argument("--device", action="append", help="device id (repeatable)")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers: Any) -> None:
    config = subparsers.add_parser(
        "config", help="router configs: drafts, diff, apply, backup, drift, status"
    )
    sub = config.add_subparsers(dest="config_command", required=True)
    draft = sub.add_parser("draft", help="start a draft or change it").add_subparsers(
        dest="draft_cmd", required=True
    )
    new = draft.add_parser("new", help="start a draft")
    new.add_argument("-m", "--message", default="")
    new.set_defaults(run=_draft_new)
    put = draft.add_parser("set", help="set a template (--template NAME --file F) or a variable in a draft")
    put.add_argument("draft", type=int)
    put.add_argument("--template")
    put.add_argument("--file")
    put.add_argument("--variable", help="NAME=VALUE")
    put.add_argument("--scope", default="global", choices=("global", "region", "station", "device"))
    put.add_argument("--key", default="", help="region path, station code or device id for --scope")
    put.add_argument("--delete", action="store_true")
    put.set_defaults(run=_draft_set)
    diff = sub.add_parser("diff", help="what a draft changes on each router (nothing is sent)")
    diff.add_argument("draft", type=int)
    diff.set_defaults(run=_diff)
    apply = sub.add_parser("apply", help="publish a draft and push it (with --dry-run: only show the diff)")
    apply.add_argument("draft", type=int)
    apply.add_argument("--dry-run", action="store_true")
    _targets(apply)
    apply.set_defaults(run=_apply)
    for name, action, text in (
        ("backup", "config.backup", "read and store running configs"),
        ("drift", "config.drift", "compare running configs with the applied version"),
        ("import", "config.import", "take over routers in the field (baseline)"),
        ("rollback", "config.rollback", "restore the last good backup"),
    ):
        cmd = sub.add_parser(name, help=text)
        _targets(cmd)
        cmd.set_defaults(run=lambda args, action=action: _run_job(args, action))
    status = sub.add_parser("status", help="which router runs which revision; pending, drifted, failed")
    status.add_argument(
        "--state", choices=("unmanaged", "applied", "pending", "drifted", "failed", "render_error")
    )
    status.set_defaults(run=_status)
