"""``stationctl`` entry point: each feature module adds its sub-commands through ``register(sub)``."""

from __future__ import annotations

import argparse
import getpass
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import httpx

from .client import CliError, Login, checked, save_login


def _feature_modules() -> list[str]:
    """Every module of this package with a ``register(subparsers)`` function (content, provision, ...)."""
    package = importlib.import_module(__package__ or "stationctl")
    return sorted(
        m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in {"cli", "client", "chunker"}
    )


def _login(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    reply = httpx.post(
        f"{args.url.rstrip('/')}/api/v1/auth/login",
        json={"username": args.username, "password": password},
        timeout=30,
    )
    token = checked(reply)["token"]
    save_login(Login(args.url.rstrip("/"), token))
    sys.stdout.write(f"logged in to {args.url} as {args.username}\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stationctl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="log in and keep the session token (0600) for later commands")
    login.add_argument("--url", required=True, help="controller base URL, e.g. http://127.0.0.1:8080")
    login.add_argument("--username", required=True)
    login.add_argument("--password-stdin", action="store_true")
    login.set_defaults(run=_login)
    for name in _feature_modules():
        module = importlib.import_module(f"{__package__}.{name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except CliError as exc:
        sys.stderr.write(f"stationctl: {exc}\n")
        return 1
    except httpx.HTTPError as exc:
        sys.stderr.write(f"stationctl: cannot reach the controller: {exc}\n")
        return 1
    return code
