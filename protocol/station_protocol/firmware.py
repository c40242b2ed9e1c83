"""Firmware releases: signed manifest, canonical bytes, admission checks, ``firmware.*`` wire specs.

docs/firmware.md has the format; docs/protocol.md §7 the commands and events. Stdlib only: signature
checks (ed25519) live with the callers (agent update package, stationctl, controller), which hand the
verified manifest dict to :func:`parse_manifest` and the parsed manifest to :func:`admit`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import bounds as b
from . import codec as c
from . import fields as f
from .content import check_name, check_path, key_id_of
from .errors import MalformedMessage
from .spec import CommandSpec, EventSpec

FORMAT = "station-firmware/1"
# Signed bytes start with this line: a signature made for another document type (content manifests,
# with their own keys) can never verify as a firmware signature, even if the JSON happened to match.
SIGNING_CONTEXT = b"station-firmware/1 manifest\n"
KEY_ROLE = "firmware"  # key files of this role only; content keys are a separate role (docs/firmware.md)
KINDS = ("agent", "os")
ROLES = ("stb", "router")
MAX_FILES = 4096
MAX_VERSION_PARTS = 4

UPDATE = "firmware.update"
STATUS = "firmware.status"
PROGRESS = "firmware.progress"

STATES = (
    "queued",
    "downloading",
    "installing",
    "restarting",
    "health_check",
    "committed",
    "rolled_back",
    "refused",
    "failed",
)
TERMINAL_STATES = frozenset({"committed", "rolled_back", "refused", "failed"})
# ``reason`` of refused / failed / rolled_back progress events (docs/firmware.md "Failure cases").
REFUSALS = ("unsigned", "tampered", "unknown_key", "expired", "incompatible", "not_newer", "malformed")
FAILURES = (
    "download_failed",
    "install_failed",
    "crashed_at_start",
    "health_deadline",
    "broker_unreachable",
    "self_check_failed",
    "interrupted",
    "busy",
    "outside_window",
)
REASONS = REFUSALS + FAILURES
SLOTS = ("a", "b")


# -- versions ------------------------------------------------------------------------------------
def parse_version(value: str) -> Tuple[int, ...]:
    """``1.4.2`` → (1, 4, 2): 1 to 4 dot-separated decimal integers, compared as tuples."""
    parts = value.split(".")
    if not 0 < len(parts) <= MAX_VERSION_PARTS or not all(p.isdigit() and p.isascii() for p in parts):
        raise MalformedMessage(f"version {value[:32]!r}: expected 1-4 dot-separated integers (1.4.2)")
    if any(len(p) > 9 for p in parts):
        raise MalformedMessage(f"version {value[:32]!r}: parts have at most 9 digits")
    return tuple(int(p) for p in parts)


def newer(candidate: str, installed: str) -> bool:
    a, b_ = parse_version(candidate), parse_version(installed)
    width = max(len(a), len(b_))
    return a + (0,) * (width - len(a)) > b_ + (0,) * (width - len(b_))


# -- manifest ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileEntry:
    """One file of the release, fetched next to the manifest (``<release base URL>/<path>``)."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Compatibility:
    """Empty tuples/None mean "any"; ``python``/``arch`` name the agent build target (3.11, x86_64)."""

    roles: Tuple[str, ...]
    hardware_models: Tuple[str, ...] = ()
    rauc_compatible: Optional[str] = None
    min_agent_version: Optional[str] = None
    python: Optional[str] = None
    arch: Optional[str] = None


@dataclass(frozen=True)
class Manifest:
    """A firmware release. ``version`` only grows per ``kind``, except for a signed ``rollback_of``."""

    kind: str
    name: str
    version: str
    created_ms: int
    expires_ms: int
    compatibility: Compatibility
    files: Tuple[FileEntry, ...]
    rollback_of: Optional[str] = None
    notes: str = ""

    @property
    def release_id(self) -> str:
        return f"{self.kind}-{self.version}"

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.files)


@dataclass(frozen=True)
class Signature:
    key_id: str
    sig: str  # base64 of the 64-byte ed25519 signature over signing_bytes(manifest dict)


def manifest_to_dict(m: Manifest) -> Dict[str, Any]:
    comp = m.compatibility
    return {
        "format": FORMAT,
        "kind": m.kind,
        "name": m.name,
        "version": m.version,
        "created_ms": m.created_ms,
        "expires_ms": m.expires_ms,
        "rollback_of": m.rollback_of,
        "notes": m.notes,
        "compatibility": {
            "roles": list(comp.roles),
            "hardware_models": list(comp.hardware_models),
            "rauc_compatible": comp.rauc_compatible,
            "min_agent_version": comp.min_agent_version,
            "python": comp.python,
            "arch": comp.arch,
        },
        "files": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in m.files],
    }


def canonical_bytes(manifest: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8; strings, integers, null and lists only (no floats)."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signing_bytes(manifest: Mapping[str, Any]) -> bytes:
    """What an ed25519 firmware key signs: the context line, then the canonical manifest."""
    return SIGNING_CONTEXT + canonical_bytes(manifest)


def signed_document(manifest: Mapping[str, Any], signatures: List[Signature]) -> bytes:
    doc = {"manifest": dict(manifest), "signatures": [{"key_id": s.key_id, "sig": s.sig} for s in signatures]}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def split_document(raw: bytes) -> Tuple[Dict[str, Any], List[Signature]]:
    """(manifest dict, signatures) of a signed document, trusting neither; no signature → ``unsigned``."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused("malformed", f"manifest document is not JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("manifest"), dict):
        raise Refused("malformed", "document: expected {manifest, signatures}")
    sigs = doc.get("signatures")
    if not sigs:
        raise Refused("unsigned", "the manifest carries no signature")
    if not isinstance(sigs, list) or len(sigs) > 8:
        raise Refused("malformed", "document.signatures: expected a list of 1 to 8 signatures")
    out = []
    for i, item in enumerate(sigs):
        try:
            obj = f.obj(item, f"document.signatures[{i}]")
            out.append(
                Signature(f.token(obj, "key_id", "signature", 16), f.token(obj, "sig", "signature", 128))
            )
        except MalformedMessage as exc:
            raise Refused("malformed", str(exc)) from exc
    return dict(doc["manifest"]), out


def _hex(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= set("0123456789abcdef"):
        raise MalformedMessage(f"{where}: expected 64 lowercase hex digits")
    return value


def _opt(data: Mapping[str, Any], key: str, where: str, max_len: int = 64) -> Optional[str]:
    return None if data.get(key) is None else f.token(data, key, where, max_len)


def _compatibility(data: Any) -> Compatibility:
    w = "manifest.compatibility"
    obj = f.obj(data, w)
    roles = tuple(f.text_list(obj, "roles", w, 8, 16))
    if not roles or not set(roles) <= set(ROLES):
        raise MalformedMessage(f"{w}.roles: 1 or more of {list(ROLES)}")
    min_agent = _opt(obj, "min_agent_version", w, 40)
    if min_agent is not None:
        parse_version(min_agent)
    return Compatibility(
        roles=roles,
        hardware_models=tuple(f.text_list(obj, "hardware_models", w, 64, 128)),
        rauc_compatible=None
        if obj.get("rauc_compatible") is None
        else f.text(obj, "rauc_compatible", w, 128),
        min_agent_version=min_agent,
        python=_opt(obj, "python", w, 16),
        arch=_opt(obj, "arch", w, 32),
    )


def _file(item: Any, where: str) -> FileEntry:
    obj = f.obj(item, where)
    path = check_path(f.text(obj, "path", where, 1024))
    return FileEntry(
        path, f.integer(obj, "size", where, 0, b.SAFE_INT_MAX), _hex(obj.get("sha256"), f"{where}.sha256")
    )


def parse_manifest(data: Mapping[str, Any]) -> Manifest:
    """Strictly validate a manifest dict (after its signature was checked)."""
    w = "manifest"
    if data.get("format") != FORMAT:
        raise MalformedMessage(f"{w}.format: expected {FORMAT!r}")
    raw_files = data.get("files")
    if not isinstance(raw_files, list) or not raw_files or len(raw_files) > MAX_FILES:
        raise MalformedMessage(f"{w}.files: expected a list of 1 to {MAX_FILES} files")
    files = tuple(_file(item, f"{w}.files[{i}]") for i, item in enumerate(raw_files))
    paths = [e.path for e in files]
    if paths != sorted(paths) or len(set(paths)) != len(paths):
        raise MalformedMessage(f"{w}.files: paths must be unique and sorted")
    version = check_name(f.token(data, "version", w, 40), "version")
    parse_version(version)
    rollback_of = _opt(data, "rollback_of", w, 40)
    if rollback_of is not None:
        parse_version(rollback_of)
    return Manifest(
        kind=f.choice(data, "kind", w, frozenset(KINDS)),
        name=check_name(f.token(data, "name", w, 64), "name"),
        version=version,
        created_ms=f.integer(data, "created_ms", w, 0, b.MAX_TS_MS),
        expires_ms=f.integer(data, "expires_ms", w, 0, b.MAX_TS_MS),
        compatibility=_compatibility(data.get("compatibility")),
        files=files,
        rollback_of=rollback_of,
        notes=f.opt_text(data, "notes", w, 2048) or "",
    )


# -- admission -----------------------------------------------------------------------------------
class Refused(MalformedMessage):
    """A release the device will not install; ``reason`` is one of REFUSALS (reported as-is)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.refusal = reason
        self.detail = detail


@dataclass(frozen=True)
class Device:
    """What the device knows about itself when it judges a release."""

    role: str
    hardware_model: str
    agent_version: str
    installed_version: str  # of the release kind being judged (agent or OS version)
    rauc_compatible: Optional[str] = None
    python: Optional[str] = None
    arch: Optional[str] = None


def admit(m: Manifest, device: Device, now_ms: int) -> None:
    """Raise Refused (expired, incompatible, not_newer) unless ``device`` may install ``m`` now."""
    if m.expires_ms <= now_ms:
        raise Refused("expired", f"release {m.version} expired at {m.expires_ms} (now {now_ms})")
    _check_compatible(m.compatibility, m.kind, device)
    if m.rollback_of is not None:
        if m.rollback_of != device.installed_version:
            raise Refused(
                "not_newer",
                f"rollback release replaces {m.rollback_of}, installed is {device.installed_version}",
            )
        return
    if not newer(m.version, device.installed_version):
        raise Refused(
            "not_newer", f"version {m.version} is not higher than installed {device.installed_version}"
        )


def _check_compatible(comp: Compatibility, kind: str, device: Device) -> None:
    problems = []
    if device.role not in comp.roles:
        problems.append(f"role {device.role} not in {list(comp.roles)}")
    if comp.hardware_models and device.hardware_model not in comp.hardware_models:
        problems.append(f"hardware model {device.hardware_model!r} not listed")
    if kind == "os" and comp.rauc_compatible != device.rauc_compatible:
        problems.append(f"RAUC compatible {device.rauc_compatible!r} != {comp.rauc_compatible!r}")
    if comp.min_agent_version and not _at_least(device.agent_version, comp.min_agent_version):
        problems.append(f"agent {device.agent_version} older than {comp.min_agent_version}")
    for what, want, have in (("python", comp.python, device.python), ("arch", comp.arch, device.arch)):
        if want is not None and want != have:
            problems.append(f"{what} {have!r} != {want!r}")
    if problems:
        raise Refused("incompatible", "; ".join(problems))


def _at_least(have: str, want: str) -> bool:
    return have == want or newer(have, want)


# -- wire: commands and events -------------------------------------------------------------------
@dataclass(frozen=True)
class UpdateArgs:
    """``firmware.update``: fetch ``manifest_url`` (files next to it), judge, install, restart/reboot.

    ``windows_ms`` are the station's allowed [start, end) wall-clock ranges (epoch ms) for the restart or
    reboot; the download may run outside them. ``rate_kbit`` caps the download (0: uncapped).
    """

    release_id: str = c.spec(c.token(64))
    kind: str = c.spec(c.choice(*KINDS))
    version: str = c.spec(c.token(40))
    manifest_url: str = c.spec(c.token(2048))
    files_base_url: Optional[str] = c.optional(c.token(2048))
    job_id: Optional[str] = c.optional(c.token(64))
    campaign_id: Optional[str] = c.optional(c.token(64))
    rate_kbit: int = c.spec(c.integer(0, 100_000_000), 0)
    windows_ms: Optional[Tuple[Tuple[int, int], ...]] = c.optional(c.int_pairs())
    not_after_ms: int = c.spec(c.integer(0, b.MAX_TS_MS), 0)
    health_deadline_s: int = c.spec(c.integer(5, 86_400), 300)


@dataclass(frozen=True)
class UpdateAccepted:
    """``firmware.update`` output: the job started (progress follows as events) or was refused at once."""

    job_id: str = c.spec(c.token(64))
    release_id: str = c.spec(c.token(64))
    state: str = c.spec(c.choice(*STATES))
    reason: Optional[str] = c.optional(c.token(32))


@dataclass(frozen=True)
class LastUpdate:
    """The last finished update, kept across restarts; also in the birth message (``last_update``)."""

    release_id: str = c.spec(c.token(64))
    kind: str = c.spec(c.choice(*KINDS))
    version: str = c.spec(c.token(40))
    state: str = c.spec(c.choice(*STATES))
    at_ms: int = c.spec(c.integer(0, b.MAX_TS_MS))
    reason: Optional[str] = c.optional(c.token(32))
    job_id: Optional[str] = c.optional(c.token(64))


@dataclass(frozen=True)
class StatusOutput:
    """``firmware.status``: versions and slots now, the running job (if any) and the last result."""

    agent_version: str = c.spec(c.token(40))
    agent_slot: str = c.spec(c.choice(*SLOTS))
    slots: Dict[str, Any] = c.spec(c.tree(b.OUTPUT))  # {"a": {"version", "state"}, "b": {...}}
    os_version: Optional[str] = c.optional(c.token(64))
    os_slot: Optional[str] = c.optional(c.token(64))
    job: Optional[Dict[str, Any]] = c.optional(c.tree(b.OUTPUT))
    last_update: Optional[LastUpdate] = c.spec(
        lambda d, k, w: None if d.get(k) is None else c.decode(LastUpdate, d[k], f"{w}.{k}", strict=False),
        None,
    )


@dataclass(frozen=True)
class Progress:
    """Body of ``firmware.progress``: one per state change; ``reason`` set for refused/failed/rolled_back."""

    job_id: str = c.spec(c.token(64))
    release_id: str = c.spec(c.token(64))
    kind: str = c.spec(c.choice(*KINDS))
    version: str = c.spec(c.token(40))
    state: str = c.spec(c.choice(*STATES))
    from_version: Optional[str] = c.optional(c.token(40))
    reason: Optional[str] = c.optional(c.token(32))
    detail: str = c.spec(lambda d, k, w: str(c.opt(c.line(1024))(d, k, w) or ""), "")
    campaign_id: Optional[str] = c.optional(c.token(64))
    slot: Optional[str] = c.optional(c.token(64))
    bytes_done: int = c.spec(c.integer(), 0)
    bytes_total: int = c.spec(c.integer(), 0)
    attempt: int = c.spec(c.integer(0, 1000), 0)


__all__ = [
    "FORMAT",
    "KEY_ROLE",
    "Compatibility",
    "Device",
    "FileEntry",
    "LastUpdate",
    "Manifest",
    "Progress",
    "Refused",
    "Signature",
    "StatusOutput",
    "UpdateAccepted",
    "UpdateArgs",
    "admit",
    "canonical_bytes",
    "key_id_of",
    "manifest_to_dict",
    "parse_manifest",
    "signed_document",
    "signing_bytes",
    "split_document",
]


COMMAND_SPECS: Tuple[CommandSpec, ...] = (
    CommandSpec(UPDATE, UpdateArgs, UpdateAccepted),
    CommandSpec(STATUS, c.Empty, StatusOutput),
)
EVENT_SPECS: Tuple[EventSpec, ...] = (EventSpec(PROGRESS, Progress),)
