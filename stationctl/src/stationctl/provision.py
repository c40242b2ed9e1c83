"""``stationctl provision``: bootstrap jobs, job list, follow a job live, retry and resume."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from .client import CliError, api, checked

BASE = "/api/v1/provisioning/jobs"
FINAL = ("ok", "changed", "failed", "unreachable", "cancelled")


def _selector(args: argparse.Namespace) -> dict[str, Any]:
    if not (args.region or args.tag or args.device or args.station):
        raise CliError("name the devices: --region, --tag, --station or --device")
    return {
        "region": args.region,
        "tags": args.tag or [],
        "role": args.role,
        "station": args.station,
        "device_ids": args.device or [],
    }


def follow(client: httpx.Client, job_id: int, *, quiet: bool = False) -> dict[str, Any]:
    """Progress bar and live log lines until the job finished (or was interrupted); the job detail."""
    cursor, out = 0, Console(stderr=True)
    columns = (
        TextColumn("job {task.fields[job]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[c]}"),
    )
    with Progress(*columns, console=out, disable=quiet) as bar:
        task = bar.add_task("job", total=None, job=job_id, c="")
        while True:
            for line in checked(client.get(f"{BASE}/{job_id}/logs", params={"after": cursor})):
                cursor = line["id"]
                if not quiet:
                    bar.console.print(f"[dim]{line['device_id'] or '-'}[/dim] {line['line']}", markup=True)
            job = checked(client.get(f"{BASE}/{job_id}"))
            counts = job.get("counts", {})
            shown = " ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v)
            done = sum(counts.get(s, 0) for s in FINAL)
            bar.update(task, total=sum(counts.values()) or None, completed=done, c=shown)
            if job["finished_at"] or job["status"] == "interrupted":
                return dict(job)
            time.sleep(1.0)


def _report(job: dict[str, Any]) -> int:
    table = Table("device", "result", "reason", title=f"job {job['id']} {job['action']}: {job['status']}")
    for device in job.get("devices", []):
        table.add_row(device["device_id"], device["status"], device["reason"][:120])
    Console().print(table)
    bad = sum(job.get("counts", {}).get(s, 0) for s in ("failed", "unreachable", "interrupted"))
    if bad:
        sys.stderr.write(f"{bad} devices need attention: `stationctl provision retry {job['id']}`\n")
    return 1 if bad else 0


def _start(args: argparse.Namespace, action: str) -> int:
    body = {
        "action": action,
        "selector": _selector(args),
        "dry_run": args.dry_run,
        "concurrency": args.concurrency,
        "params": {"reenroll": True} if getattr(args, "reenroll", False) else {},
    }
    with api() as client:
        job = checked(client.post(BASE, json=body))
        sys.stdout.write(f"job {job['id']} started over {sum(job['counts'].values())} devices\n")
        return 0 if args.no_follow else _report(follow(client, job["id"]))


def _jobs(args: argparse.Namespace) -> int:
    with api() as client:
        jobs = checked(client.get(BASE, params={"limit": args.limit}))
    table = Table("id", "action", "status", "results", "by", "created")
    for job in jobs:
        counts = " ".join(f"{k}={v}" for k, v in sorted(job["counts"].items()))
        table.add_row(
            str(job["id"]), job["action"], job["status"], counts, job["created_by"], job["created_at"][:19]
        )
    Console().print(table)
    return 0


def _follow(args: argparse.Namespace) -> int:
    with api() as client:
        return _report(follow(client, args.job))


def _again(args: argparse.Namespace, verb: str) -> int:
    with api() as client:
        job = checked(client.post(f"{BASE}/{args.job}/{verb}"))
        sys.stdout.write(f"job {job['id']} {verb}d\n" if verb == "resume" else f"retry job {job['id']}\n")
        return 0 if args.no_follow else _report(follow(client, job["id"]))


def _selection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="region path (subtree), e.g. 河南省/南阳市")
    parser.add_argument("--tag", action="append", help="station tag (repeat: all must match)")
    parser.add_argument("--role", choices=("stb", "router"))
    parser.add_argument("--station", help="station code")
    parser.add_argument("--device", action="append", help="device id (repeat)")
    parser.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    parser.add_argument("--concurrency", type=int, help="devices at once (default from the controller)")
    parser.add_argument("--no-follow", action="store_true", help="start the job and return")


def register(subparsers: Any) -> None:
    prov = subparsers.add_parser("provision", help="provisioning jobs (bootstrap, follow, retry, resume)")
    sub = prov.add_subparsers(dest="provision_command", required=True)
    boot = sub.add_parser("bootstrap", help="install and enroll the agent on reachable Linux boxes")
    _selection_args(boot)
    boot.add_argument("--reenroll", action="store_true", help="issue a new token even for enrolled devices")
    boot.set_defaults(run=lambda a: _start(a, "bootstrap"))
    jobs = sub.add_parser("jobs", help="recent jobs")
    jobs.add_argument("--limit", type=int, default=20)
    jobs.set_defaults(run=_jobs)
    fol = sub.add_parser("follow", help="progress bar and live log of a job until it finishes")
    fol.add_argument("job", type=int)
    fol.set_defaults(run=_follow)
    for verb, text in (
        ("retry", "a new job over only the failed devices"),
        ("resume", "run interrupted devices"),
    ):
        p = sub.add_parser(verb, help=text)
        p.add_argument("job", type=int)
        p.add_argument("--no-follow", action="store_true")
        p.set_defaults(run=lambda a, v=verb: _again(a, v))
