"""The REST client every stationctl command uses: base URL and bearer token from env or the login file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

LOGIN_FILE = Path(os.environ.get("STATIONCTL_LOGIN_FILE", str(Path.home() / ".config" / "stationctl.json")))


class CliError(Exception):
    """A failure stationctl reports to the user (exit code 1) instead of a traceback."""


@dataclass(frozen=True)
class Login:
    url: str
    token: str


def load_login() -> Login:
    """``STATIONCTL_URL`` + ``STATIONCTL_TOKEN`` win over the file written by ``stationctl login``."""
    url, token = os.environ.get("STATIONCTL_URL"), os.environ.get("STATIONCTL_TOKEN")
    if url and token:
        return Login(url.rstrip("/"), token)
    try:
        data = json.loads(LOGIN_FILE.read_text(encoding="utf-8"))
        return Login(str(data["url"]).rstrip("/"), str(data["token"]))
    except (OSError, ValueError, KeyError):
        raise CliError("not logged in: run `stationctl login --url URL --username NAME`") from None


def save_login(login: Login) -> None:
    LOGIN_FILE.parent.mkdir(parents=True, exist_ok=True)
    LOGIN_FILE.write_text(json.dumps({"url": login.url, "token": login.token}), encoding="utf-8")
    LOGIN_FILE.chmod(0o600)


def api(login: Login | None = None, *, timeout_s: float = 60.0) -> httpx.Client:
    """An httpx client on the controller with the staff bearer token."""
    login = login or load_login()
    return httpx.Client(
        base_url=login.url, headers={"authorization": f"Bearer {login.token}"}, timeout=timeout_s
    )


def checked(response: httpx.Response) -> Any:
    """The JSON body of a 2xx response; otherwise a CliError with the controller's own explanation."""
    if response.is_success:
        return response.json() if response.content else None
    try:
        body = response.json()
        detail = body.get("detail") or body
    except ValueError:
        detail = response.text[:300]
    raise CliError(f"{response.request.method} {response.request.url.path}: {response.status_code} {detail}")
