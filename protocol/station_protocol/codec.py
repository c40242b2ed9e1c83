"""Generic strict decode/encode of the typed command and event dataclasses (contract.py's registry).

Each field's reader is kept in the dataclass field's metadata (``read``); decode checks that no unknown
key is present (arguments are strict: an agent rejects what it would silently ignore) and names the
field of any error, encode turns the dataclass into a JSON-ready dict.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, Callable, Dict, Mapping, Optional, Type, TypeVar

from . import bounds as b
from . import fields as f
from .errors import MalformedMessage

T = TypeVar("T")
Reader = Callable[[Mapping[str, Any], str, str], Any]


def spec(read: Reader, default: Any = MISSING) -> Any:
    """A dataclass field read by ``read(data, key, where)``; absent keys take ``default`` when given."""
    if default is MISSING:
        return field(metadata={"read": read})
    return field(default=default, metadata={"read": read})


def decode(cls: Type[T], data: Any, where: str, *, strict: bool = True) -> T:
    """Raises a MalformedMessage subclass naming ``where.<field>``."""
    obj = f.obj(data, where)
    known = {fld.name: fld for fld in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(obj) - set(known))
    if unknown and strict:
        raise MalformedMessage(f"{where}: unknown field(s) {unknown[:8]}; allowed: {sorted(known)}")
    values: Dict[str, Any] = {}
    for name, fld in known.items():
        if name not in obj and _has_default(fld):
            continue
        if name not in obj:
            raise MalformedMessage(f"{where}.{name}: missing")
        values[name] = fld.metadata["read"](obj, name, where)
    return cls(**values)


def _has_default(fld: Field[Any]) -> bool:
    return fld.default is not MISSING or fld.default_factory is not MISSING


def encode(value: Any) -> Any:
    """JSON-ready form of a contract dataclass (tuples become lists, nested dataclasses dicts)."""
    if hasattr(value, "__dataclass_fields__"):
        return {fld.name: encode(getattr(value, fld.name)) for fld in fields(value)}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


# -- readers -------------------------------------------------------------------------------------
def token(max_len: int = 64) -> Reader:
    return lambda d, k, w: f.token(d, k, w, max_len)


def line(max_len: int = 256) -> Reader:
    return lambda d, k, w: f.text(d, k, w, max_len)


def opt(read: Reader) -> Reader:
    """``null`` (or absent, with a default) is None; anything else must pass ``read``."""
    return lambda d, k, w: None if d.get(k) is None else read(d, k, w)


def integer(low: int = 0, high: int = b.SAFE_INT_MAX) -> Reader:
    return lambda d, k, w: f.integer(d, k, w, low, high)


def number(low: float = 0.0, high: float = 1e18) -> Reader:
    return lambda d, k, w: f.number(d, k, w, low, high)


def boolean() -> Reader:
    return f.boolean


def choice(*allowed: str) -> Reader:
    return lambda d, k, w: f.choice(d, k, w, frozenset(allowed))


def tree(limits: b.Tree = b.ARGS) -> Reader:
    return lambda d, k, w: f.mapping(d, k, w, limits)


def tokens(max_items: int = 64, item_len: int = 64) -> Reader:
    return lambda d, k, w: f.text_list(d, k, w, max_items, item_len)


def items(cls: Type[Any], max_items: int = 4096, *, strict: bool = True) -> Reader:
    """A list of nested contract objects."""

    def read(d: Mapping[str, Any], k: str, w: str) -> tuple[Any, ...]:
        value = d.get(k)
        if not isinstance(value, list) or len(value) > max_items:
            raise MalformedMessage(f"{w}.{k}: expected a list of at most {max_items} objects")
        return tuple(decode(cls, item, f"{w}.{k}[{i}]", strict=strict) for i, item in enumerate(value))

    return read


def int_pairs(max_items: int = 1024) -> Reader:
    """A list of ``[start, end]`` integer pairs (content.sync ``windows_ms``)."""

    def read(d: Mapping[str, Any], k: str, w: str) -> tuple[tuple[int, int], ...]:
        value = d.get(k)
        if not isinstance(value, list) or len(value) > max_items:
            raise MalformedMessage(f"{w}.{k}: expected a list of at most {max_items} [start, end] pairs")
        out = []
        for i, pair in enumerate(value):
            ok = isinstance(pair, list) and len(pair) == 2
            if not ok or any(not isinstance(x, int) or isinstance(x, bool) for x in pair):
                raise MalformedMessage(f"{w}.{k}[{i}]: expected [start_ms, end_ms]")
            out.append((b.check_int(pair[0], f"{w}.{k}[{i}][0]"), b.check_int(pair[1], f"{w}.{k}[{i}][1]")))
        return tuple(out)

    return read


@dataclass(frozen=True)
class Empty:
    """Arguments of a command that takes none."""


def optional(read: Reader) -> Optional[Any]:
    """Shorthand: an optional field that is None when absent or null."""
    return spec(opt(read), None)
