"""A phone's browser without JavaScript: follows redirects hop by hop, reads forms, submits them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx

from tests.support import wait_until
from tests.support.netns import ns_http_client


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # every input name, also unchecked boxes
    checkboxes: dict[str, str] = field(default_factory=dict)  # unchecked boxes (e.g. accept the terms)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif tag in ("input", "button", "textarea", "select") and self.forms and a.get("name"):
            form, name = self.forms[-1], a["name"]
            form.names.append(name)
            kind = a.get("type", "text").lower()
            if kind == "checkbox" and "checked" not in a:
                form.checkboxes[name] = a.get("value", "on")
                return
            if kind == "radio" and "checked" not in a:
                return
            if tag != "button":
                form.fields.setdefault(name, a.get("value", ""))


def forms_of(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Phone:
    """One phone (namespace ``ns``): cookies kept, every hop of a redirect chain recorded."""

    def __init__(self, ns: str, *, timeout: float = 20.0) -> None:
        self.client: httpx.Client = ns_http_client(ns, timeout=timeout)
        self.hops: list[httpx.Response] = []

    def close(self) -> None:
        self.client.close()

    def open(self, url: str, *, max_hops: int = 8) -> httpx.Response:
        """GET ``url`` and follow redirects by hand (each hop kept in ``hops``)."""
        self.hops = []
        reply = self.client.get(url)
        return self._follow(reply, max_hops)

    def submit(
        self,
        page: httpx.Response,
        form: Form,
        values: dict[str, str],
        *,
        tick: bool = True,
        max_hops: int = 8,
    ) -> httpx.Response:
        """Submit ``form`` with its own hidden fields plus ``values`` (boxes ticked); follow redirects."""
        data = {**form.fields, **(form.checkboxes if tick else {}), **values}
        target = urljoin(str(page.url), form.action or str(page.url))
        self.hops = []
        if form.method == "post":
            reply = self.client.post(target, data=data)
        else:
            reply = self.client.get(target, params=data)
        return self._follow(reply, max_hops)

    def _follow(self, reply: httpx.Response, max_hops: int) -> httpx.Response:
        self.hops.append(reply)
        while reply.is_redirect and len(self.hops) <= max_hops:
            reply = self.client.get(urljoin(str(reply.url), reply.headers["location"]))
            self.hops.append(reply)
        return reply


def form_with(page: httpx.Response, name: str) -> Form:
    """The page's form that has an input called ``name`` (AssertionError with the page if none)."""
    for form in forms_of(page.text):
        if name in form.names:
            return form
    raise AssertionError(
        f"no form with a {name!r} field on {page.url} ({page.status_code}):\n{page.text[:2000]}"
    )


def form_posting_to(page: httpx.Response, path: str) -> Form:
    """The page's form whose action ends with ``path``."""
    for form in forms_of(page.text):
        if form.action.rstrip("/").endswith(path.rstrip("/")):
            return form
    raise AssertionError(f"no form posting to {path} on {page.url} ({page.status_code}):\n{page.text[:2000]}")


def sms_code(outbox: Path, phone: str, *, after_ms: int = 0, timeout: float = 20.0) -> str:
    """The newest code the controller's log SMS provider wrote for ``phone`` (at or after ``after_ms``)."""

    def latest() -> str | None:
        if not outbox.exists():
            return None
        codes = [
            entry["code"]
            for entry in map(json.loads, outbox.read_text(encoding="utf-8").splitlines())
            if entry["phone"].endswith(phone[-11:]) and int(entry["ts"]) >= after_ms
        ]
        return codes[-1] if codes else None

    code = wait_until(latest, timeout=timeout, interval=0.2, message=f"SMS code for {phone} in {outbox}")
    assert code is not None
    return code
