"""``stationctl rollout``: create, plan, start/pause/resume/cancel and follow campaigns live (rich)."""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .client import CliError, api, checked

TERMINAL = {"finished", "cancelled", "aborted"}
_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:bit/s|bps)?$")
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}


def parse_rate(text: str) -> int:
    """``4M`` → 4,000,000 bit/s; ``512k``, ``1G``, ``2500000`` also work."""
    match = _RATE.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: write a bit rate such as 4M, 512k or 1G")
    return int(float(match.group(1)) * _SCALE[match.group(2).lower()])


def fmt_bytes(value: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:.0f} B"


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = int(seconds) // 60
    return (
        f"{minutes // 1440}d {minutes // 60 % 24}h"
        if minutes >= 1440
        else f"{minutes // 60}h {minutes % 60}m"
    )


def _retries(items: list[str]) -> dict[str, dict[str, float]]:
    """``http_error=5:300`` → {"http_error": {"retries": 5, "backoff_s": 300}}."""
    rules: dict[str, dict[str, float]] = {}
    for item in items:
        name, _, value = item.partition("=")
        count, _, backoff = value.partition(":")
        if not name or not count.isdigit():
            raise CliError(f"--retry {item!r}: write TYPE=RETRIES[:BACKOFF_S], e.g. http_error=5:300")
        rules[name] = {"retries": int(count), "backoff_s": float(backoff or 300)}
    return rules


def _waves(args: argparse.Namespace) -> dict[str, Any]:
    waves: dict[str, Any] = {"canary": [c for c in (args.canary or "").split(",") if c]}
    if args.exponential:
        base, _, factor = args.exponential.partition(":")
        waves.update(exponential_base=int(base), exponential_factor=float(factor or 2))
    else:
        waves["percentages"] = [float(p) for p in args.waves.split(",")]
    return waves


def _schedule(args: argparse.Namespace) -> dict[str, Any]:
    start, _, end = args.window.partition("-") if args.window != "any" else ("", "", "")
    return {
        "window_start": start or None,
        "window_end": end or None,
        "starts_at": args.starts_at,
        "ends_at": args.ends_at,
        "end_behavior": args.end_behavior,
        "continuous": args.continuous,
    }


def create_body(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /campaigns body from the command line."""
    return {
        "name": args.name,
        "payload_kind": "content",
        "payload": {"bundle": args.bundle, "version": args.version},
        "target": {"regions": args.region, "tags": args.tag, "stations": args.station, "role": args.role},
        "schedule": _schedule(args),
        "waves": _waves(args),
        "thresholds": {
            "success_pct": args.success_pct,
            "error_pct": args.error_pct,
            "min_sample": args.min_sample,
            "on_success": args.on_success,
            "on_error": args.on_error,
        },
        "retries": _retries(args.retry),
        "rate_cap_bps": args.rate_cap,
        "device_rate_bps": args.device_rate,
        "max_active": args.max_active,
    }


def campaign_id(client: httpx.Client, ref: str) -> int:
    """A campaign id from an id or a name."""
    if ref.isdigit():
        return int(ref)
    for campaign in checked(client.get("/api/v1/campaigns")):
        if campaign["name"] == ref:
            return int(campaign["id"])
    raise CliError(f"no campaign named {ref!r}; `stationctl rollout list` shows them")


def _create(args: argparse.Namespace) -> int:
    with api() as client:
        campaign = checked(client.post("/api/v1/campaigns", json=create_body(args)))
        if args.start:
            campaign = checked(client.post(f"/api/v1/campaigns/{campaign['id']}/start"))
    sys.stdout.write(f"campaign {campaign['id']} {campaign['name']}: {campaign['state']}\n")
    return 0


def _action(args: argparse.Namespace) -> int:
    with api() as client:
        cid = campaign_id(client, args.campaign)
        campaign = checked(client.post(f"/api/v1/campaigns/{cid}/{args.action}"))
    sys.stdout.write(f"campaign {cid} {campaign['name']}: {campaign['state']} ({campaign['reason'] or ''})\n")
    return 0


def _list(_args: argparse.Namespace) -> int:
    with api() as client:
        rows = checked(client.get("/api/v1/campaigns"))
    table = Table("id", "name", "payload", "state", "wave", "reason")
    for c in rows:
        payload = " ".join(str(v) for v in c["payload"].values())
        table.add_row(
            str(c["id"]),
            c["name"],
            payload,
            c["state"],
            f"{c['current_wave']}/{c['wave_count']}",
            c["reason"] or "",
        )
    Console().print(table)
    return 0


def plan_table(plan: dict[str, Any]) -> Group:
    """The plan as printed: a summary line, then one row per night with the physical bound beside it."""
    needed = plan["nights_needed"]
    bound = plan["lower_bound_nights"]
    head = Text(
        f"{plan['campaign']}: {plan['stations']} stations, {fmt_bytes(plan['total_bytes'])} to deliver, "
        f"origin {plan['origin_bps'] / 1e6:g} Mbit/s, window {plan['window']}\n"
        f"nights needed: {needed if needed is not None else 'more than the horizon'}   "
        f"physical lower bound: {bound if bound is not None else 'more than the horizon'}"
    )
    table = Table("night", "delivered", "physical bound", "efficiency", "stations done")
    for night in plan["nights"]:
        eff = night["delivered_bytes"] / night["bound_bytes"] if night["bound_bytes"] else 0.0
        table.add_row(
            str(night["index"] + 1),
            fmt_bytes(night["delivered_bytes"]),
            fmt_bytes(night["bound_bytes"]),
            f"{eff:.0%}",
            str(night["completed"]),
        )
    return Group(head, table)


def _plan(args: argparse.Namespace) -> int:
    body = {"link_bps": args.link, "max_nights": args.max_nights, "origin_bps": args.origin}
    with api(timeout_s=120) as client:
        cid = campaign_id(client, args.campaign)
        plan = checked(client.post(f"/api/v1/campaigns/{cid}/plan", json=body))
    Console().print(plan_table(plan))
    return 0


def _bars(title: str, groups: list[dict[str, Any]], label: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in (label, "progress", "done", "ok", "failed", "running", "waiting", "bytes", "rate"):
        table.add_column(column)
    for g in groups:
        done = g["succeeded"] + g["failed"] + g["cancelled"] + g["skipped"]
        table.add_row(
            g["key"],
            ProgressBar(total=max(1, g["total"]), completed=done, width=30),
            f"{done}/{g['total']}",
            str(g["succeeded"]),
            Text(str(g["failed"]), style="red" if g["failed"] else ""),
            str(g["running"]),
            str(g["pending"] + g["retry_wait"]),
            f"{fmt_bytes(g['bytes_done'])}/{fmt_bytes(g['bytes_total'])}",
            f"{g['rate_bps'] / 1e6:.1f} Mbit/s",
        )
    return table


def progress_view(progress: dict[str, Any]) -> Group:
    """Progress bars per wave and per region, failures by reason, ETA (what ``follow`` redraws)."""
    c = progress["campaign"]
    head = Text(
        f"campaign {c['id']} {c['name']}  state {c['state']}  wave {c['current_wave']}/{c['wave_count']}  "
        f"ETA {fmt_eta(progress['eta_s'])}" + (f"\n{c['reason']}" if c["reason"] else "")
    )
    waves = [dict(w, key=f"wave {w['key']}") for w in progress["waves"]]
    parts: list[Any] = [head, _bars("waves", waves, "wave"), _bars("regions", progress["regions"], "region")]
    if progress["failures"]:
        failures = Table("failure", "devices", title="failures by reason", title_justify="left")
        for f in progress["failures"]:
            failures.add_row(f["key"], str(f["total"]))
        parts.append(failures)
    return Group(*parts)


def _follow(args: argparse.Namespace) -> int:
    console = Console()
    with api() as client:
        cid = campaign_id(client, args.campaign)
        url = f"/api/v1/campaigns/{cid}/progress?region_depth={args.region_depth}"
        progress = checked(client.get(url))
        if args.once:
            console.print(progress_view(progress))
            return 0
        with Live(progress_view(progress), console=console, refresh_per_second=4) as live:
            while progress["campaign"]["state"] not in TERMINAL:
                time.sleep(args.interval)
                progress = checked(client.get(url))
                live.update(progress_view(progress))
    console.print(f"campaign {cid} {progress['campaign']['state']}: {progress['campaign']['reason'] or ''}")
    return 0


def _devices(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"limit": args.limit}
    if args.state:
        params["state"] = args.state
    with api() as client:
        cid = campaign_id(client, args.campaign)
        page = checked(client.get(f"/api/v1/campaigns/{cid}/devices", params=params))
    table = Table("device", "station", "wave", "state", "attempts", "bytes", "failure", "error")
    for d in page["items"]:
        size = f"{fmt_bytes(d['bytes_done'])}/{fmt_bytes(d['bytes_total'] or 0)}"
        table.add_row(
            d["device_id"],
            d["station_code"],
            str(d["wave"]),
            d["state"],
            str(d["attempts"]),
            size,
            d["failure_type"] or "",
            (d["error"] or "")[:60],
        )
    Console().print(table)
    sys.stdout.write(f"{len(page['items'])} of {page['total']}\n")
    return 0


def _add_create(rsub: Any) -> None:
    p = rsub.add_parser("create", help="create a content campaign (a draft unless --start)")
    p.add_argument("--name", required=True)
    p.add_argument("--bundle", required=True)
    p.add_argument("--version", default="latest")
    p.add_argument("--region", action="append", default=[], help="region subtree path (repeatable)")
    p.add_argument("--tag", action="append", default=[], help="station tag (repeatable)")
    p.add_argument("--station", action="append", default=[], help="station code (repeatable)")
    p.add_argument("--role", choices=("stb", "router"))
    p.add_argument(
        "--window", default="00:30-05:30", help="HH:MM-HH:MM in each station's local time, or 'any'"
    )
    p.add_argument("--starts-at", help="ISO time, e.g. 2026-06-01T00:00+08:00")
    p.add_argument("--ends-at")
    p.add_argument("--end-behavior", choices=("stop", "cancel"), default="stop")
    p.add_argument("--continuous", action="store_true", help="keep taking devices that appear later")
    p.add_argument("--canary", help="comma-separated station codes for wave 0")
    p.add_argument("--waves", default="10,50,100", help="cumulative percentages")
    p.add_argument("--exponential", help="BASE[:FACTOR] instead of percentages, e.g. 20:2")
    p.add_argument("--success-pct", type=float, default=95.0)
    p.add_argument("--error-pct", type=float, default=10.0)
    p.add_argument("--min-sample", type=int, default=10)
    p.add_argument("--on-success", choices=("next", "pause"), default="next")
    p.add_argument("--on-error", choices=("pause", "abort"), default="pause")
    p.add_argument("--retry", action="append", default=[], help="TYPE=RETRIES[:BACKOFF_S] (repeatable)")
    p.add_argument("--rate-cap", type=parse_rate, help="this campaign's origin share, e.g. 800M")
    p.add_argument("--device-rate", type=parse_rate, help="per-device cap, e.g. 4M")
    p.add_argument("--max-active", type=int)
    p.add_argument("--start", action="store_true", help="start it right away")
    p.set_defaults(run=_create)


def register(sub: Any) -> None:
    rollout = sub.add_parser("rollout", help="campaigns: create, plan, start/pause/resume/cancel, follow")
    rsub = rollout.add_subparsers(dest="rollout_command", required=True)
    _add_create(rsub)
    rsub.add_parser("list", help="campaigns, newest first").set_defaults(run=_list)
    for action in ("start", "pause", "resume", "cancel"):
        p = rsub.add_parser(action, help=f"{action} a campaign (id or name)")
        p.add_argument("campaign")
        p.set_defaults(run=_action, action=action)
    plan = rsub.add_parser("plan", help="nights needed and bytes per night, beside the physical bound")
    plan.add_argument("campaign")
    plan.add_argument("--origin", type=parse_rate, help="origin cap (default: the campaign's)")
    plan.add_argument("--link", type=parse_rate, default=4_000_000, help="link speed where none is known")
    plan.add_argument("--max-nights", type=int, default=60)
    plan.set_defaults(run=_plan)
    follow = rsub.add_parser("follow", help="live progress bars per wave and region until the campaign ends")
    follow.add_argument("campaign")
    follow.add_argument("--interval", type=float, default=2.0)
    follow.add_argument("--region-depth", type=int, default=3)
    follow.add_argument("--once", action="store_true", help="print once and exit")
    follow.set_defaults(run=_follow)
    devices = rsub.add_parser("devices", help="per-device state, failures with reasons")
    devices.add_argument("campaign")
    devices.add_argument("--state")
    devices.add_argument("--limit", type=int, default=100)
    devices.set_defaults(run=_devices)
