"""``stationctl firmware``: keygen, build (agent | os), sign (offline), publish, list, retire, keys."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

from . import firmware_build as build
from . import firmware_keys as keys
from .client import CliError, api, checked

REPO = Path(__file__).resolve().parents[3]
DEFAULT_OUT = REPO / "firmware_images" / "build"


def _release(args: argparse.Namespace, kind: str, name: str) -> build.Release:
    return build.Release(
        kind=kind,
        name=name,
        version=args.version,
        roles=tuple(r for r in args.roles.split(",") if r),
        expires_days=args.expires_days,
        hardware_models=tuple(args.hardware_model or ()),
        min_agent_version=args.min_agent_version,
        rollback_of=args.rollback_of,
        rauc_compatible=getattr(args, "compatible", None),
        notes=args.notes,
    )


def _build_agent(args: argparse.Namespace) -> int:
    target = build.Target(args.python, args.arch)
    out = build.build_agent(
        _release(args, "agent", "station-agent"),
        target,
        agent_dir=Path(args.agent_dir),
        protocol_dir=Path(args.protocol_dir),
        out_root=Path(args.out),
    )
    sys.stdout.write(f"{out}\n")
    return 0


def _build_os(args: argparse.Namespace) -> int:
    keyring = Path(args.keyring) if args.keyring else None
    out = build.build_os(
        _release(args, "os", args.name),
        image=Path(args.image),
        cert=Path(args.cert),
        key=Path(args.key),
        keyring=keyring,
        out_root=Path(args.out),
    )
    sys.stdout.write(f"{out}\n")
    return 0


def _sign(args: argparse.Namespace) -> int:
    release = Path(args.release_dir)
    manifest = _read_json(release / build.MANIFEST)
    doc = keys.sign(manifest, [Path(k) for k in args.key])
    (release / build.SIGNED).write_bytes(doc)
    sys.stdout.write(f"{release / build.SIGNED}\n")
    return 0


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise CliError(f"{path}: expected a JSON object")
    return data


def _publish(args: argparse.Namespace) -> int:
    release = Path(args.release_dir)
    signed = release / build.SIGNED
    if not signed.exists():
        raise CliError(f"{signed} missing: run `stationctl firmware sign {release} --key KEY` first")
    with api(timeout_s=600) as client:
        headers = {"Content-Type": "application/json"}
        info = checked(client.post("/api/v1/firmware/releases", content=signed.read_bytes(), headers=headers))
        for path in info.get("missing", []):
            body = (release / "files" / path).read_bytes()
            info = checked(
                client.put(
                    f"/api/v1/firmware/releases/{info['release_id']}/files/{path}",
                    content=body,
                    headers={"Content-Type": "application/octet-stream"},
                )
            )
    sys.stdout.write(f"{info['release_id']}: {info.get('state')}\n")
    return 0


def _list(args: argparse.Namespace) -> int:
    with api() as client:
        releases = checked(client.get("/api/v1/firmware/releases")).get("releases", [])
    if args.json:
        sys.stdout.write(json.dumps(releases, indent=1) + "\n")
        return 0
    for r in releases:
        sys.stdout.write(f"{r['release_id']:<24} {r.get('state', ''):<10} expires {r.get('expires_ms')}\n")
    return 0


def _retire(args: argparse.Namespace) -> int:
    with api() as client:
        info = checked(client.post(f"/api/v1/firmware/releases/{args.release_id}/retire"))
    sys.stdout.write(f"{info['release_id']}: {info.get('state')}\n")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    key_id = keys.generate(Path(args.out))
    _kid, pub = keys.public_b64(Path(args.out))
    if args.pub_out:
        Path(args.pub_out).write_text(pub + "\n", encoding="ascii")
    sys.stdout.write(f"{key_id} {pub}\n")
    return 0


def _keys_add(args: argparse.Namespace) -> int:
    _kid, pub = keys.public_b64(Path(args.key))
    with api() as client:
        info = checked(client.post("/api/v1/firmware/keys", json={"public_key": pub, "label": args.label}))
    sys.stdout.write(f"{info['key_id']}\n")
    return 0


def _release_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", required=True, help="dot-separated integers, higher than installed")
    p.add_argument("--roles", default="stb,router")
    p.add_argument("--expires-days", type=float, default=90.0)
    p.add_argument("--hardware-model", action="append", help="repeatable; none: any model")
    p.add_argument("--min-agent-version")
    p.add_argument("--rollback-of", help="explicit signed rollback: the version this release replaces")
    p.add_argument("--notes", default="")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="release directories go here (git-ignored)")


def register(sub: Any) -> None:
    fwp = sub.add_parser("firmware", help="build, sign and publish agent and OS releases")
    fsub = fwp.add_subparsers(dest="firmware_command", required=True)
    bp = fsub.add_parser("build", help="build a release directory (unsigned manifest)")
    bsub = bp.add_subparsers(dest="kind", required=True)
    ba = bsub.add_parser("agent", help="the agent and all its dependencies as wheels for one target")
    _release_options(ba)
    ba.add_argument("--python", default=f"{sys.version_info[0]}.{sys.version_info[1]}")
    ba.add_argument("--arch", default=platform.machine())
    ba.add_argument("--agent-dir", default=str(REPO / "agent"))
    ba.add_argument("--protocol-dir", default=str(REPO / "protocol"))
    ba.set_defaults(run=_build_agent)
    bo = bsub.add_parser("os", help="a RAUC bundle (format=plain) of a root filesystem image")
    _release_options(bo)
    bo.add_argument("--name", default="os-image")
    bo.add_argument("--image", required=True)
    bo.add_argument("--compatible", required=True)
    bo.add_argument("--cert", required=True, help="RAUC signing certificate (PEM)")
    bo.add_argument("--key", required=True, help="RAUC signing key (PEM)")
    bo.add_argument("--keyring")
    bo.set_defaults(run=_build_os)
    sp = fsub.add_parser("sign", help="sign a release's manifest with firmware key(s); offline")
    sp.add_argument("release_dir")
    sp.add_argument("--key", action="append", required=True, help="firmware private key file; repeatable")
    sp.set_defaults(run=_sign)
    pp = fsub.add_parser("publish", help="upload a signed release to the controller")
    pp.add_argument("release_dir")
    pp.set_defaults(run=_publish)
    lp = fsub.add_parser("list", help="releases on the controller")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(run=_list)
    rp = fsub.add_parser("retire", help="retire a release (no new campaigns)")
    rp.add_argument("release_id")
    rp.set_defaults(run=_retire)
    kp = fsub.add_parser(
        "keygen", help="new firmware signing key (private file 0600); prints id and public key"
    )
    kp.add_argument("--out", required=True)
    kp.add_argument("--pub-out", help="also write the base64 public key (a device's keys/firmware/<id>.pub)")
    kp.set_defaults(run=_keygen)
    ka = fsub.add_parser("add-key", help="register a firmware public key with the controller")
    ka.add_argument("--key", required=True, help="private key file (only its public half is sent)")
    ka.add_argument("--label", default="")
    ka.set_defaults(run=_keys_add)
