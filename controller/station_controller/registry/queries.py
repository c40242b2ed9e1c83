"""Registry read queries: filtered, paginated lists of stations and devices, the region tree, tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from .models import Device, Region, Station, Tag, station_tags

MAX_LIMIT = 500


@dataclass(frozen=True)
class DeviceFilter:
    region: str | None = None
    tag: str | None = None
    role: str | None = None
    online: bool | None = None
    agent_version: str | None = None
    status: str | None = None
    station: str | None = None
    q: str | None = None


@dataclass(frozen=True)
class Page:
    """``after`` (keyset, preferred) or ``offset``; ``limit`` is clamped to 1..MAX_LIMIT."""

    limit: int = 50
    after: str | None = None
    offset: int = 0

    @property
    def size(self) -> int:
        return max(1, min(self.limit, MAX_LIMIT))


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def in_subtree(column: Any, path: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is ``path`` or below it, written so that an index on ``column`` can serve it.

    SQLite compares text bytewise, so "below p" is the range [p + "/", p + "0") ("0" follows "/").
    PostgreSQL collations are not bytewise; there a LIKE prefix uses the varchar_pattern_ops index.
    """
    path = path.strip().strip("/")
    if dialect == "sqlite":
        return or_(column == path, and_(column >= path + "/", column < path + "0"))
    return or_(column == path, column.like(escape_like(path) + "/%", escape="\\"))


def contains(column: Any, text: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive substring match (SQLite's LIKE already ignores ASCII case; lower() would cost)."""
    pattern = "%" + escape_like(text) + "%"
    matches: ColumnElement[bool] = (
        column.like(pattern, escape="\\") if dialect == "sqlite" else column.ilike(pattern, escape="\\")
    )
    return matches


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def _tagged_stations(tag: str) -> Select[Any]:
    return select(station_tags.c.station_id).join(Tag, Tag.id == station_tags.c.tag_id).where(Tag.name == tag)


def device_conditions(flt: DeviceFilter, dialect: str) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = []
    if flt.region:
        cond.append(in_subtree(Device.region_path, flt.region, dialect))
    if flt.tag:
        cond.append(Device.station_id.in_(_tagged_stations(flt.tag)))
    for column, value in (
        (Device.role, flt.role),
        (Device.agent_version, flt.agent_version),
        (Device.status, flt.status),
        (Device.online, flt.online),
    ):
        if value is not None:
            cond.append(column == value)
    if flt.station is not None:
        cond.append(Device.station_id.in_(select(Station.id).where(Station.code == flt.station)))
    if flt.q:
        cond.append(Device.search_text.like("%" + escape_like(flt.q.lower()) + "%", escape="\\"))
    return cond


def list_devices(session: Session, *, flt: DeviceFilter, page: Page) -> tuple[list[tuple[Device, str]], int]:
    """Devices (with their station code) ordered by id, and the total matching ``flt``."""
    cond = device_conditions(flt, dialect_of(session))
    total = session.scalar(select(func.count()).select_from(Device).where(*cond))
    # Page the ids first: every filter index ends in ``id``, so this reads index entries only;
    # then load the page's rows, instead of fetching and sorting every matching row.
    ids = select(Device.id).where(*cond)
    if page.after:
        ids = ids.where(Device.id > page.after)
    elif page.offset:
        ids = ids.offset(page.offset)
    page_ids = ids.order_by(Device.id).limit(page.size)
    stmt = (
        select(Device, Station.code)
        .join(Station, Station.id == Device.station_id)
        .where(Device.id.in_(page_ids.scalar_subquery()))
        .order_by(Device.id)
    )
    rows = session.execute(stmt).all()
    return [(row[0], row[1]) for row in rows], int(total or 0)


def _station_conditions(
    region: str | None, tag: str | None, q: str | None, dialect: str
) -> list[ColumnElement[bool]]:
    cond: list[ColumnElement[bool]] = []
    if region:
        cond.append(Station.region_id.in_(select(Region.id).where(in_subtree(Region.path, region, dialect))))
    if tag:
        cond.append(Station.id.in_(_tagged_stations(tag)))
    if q:
        cond.append(or_(contains(Station.code, q, dialect), contains(Station.name, q, dialect)))
    return cond


def list_stations(
    session: Session, *, region: str | None = None, tag: str | None = None, q: str | None = None, page: Page
) -> tuple[list[Station], int]:
    """Stations ordered by code (tags and devices loaded in one extra query each), and the total."""
    cond = _station_conditions(region, tag, q, dialect_of(session))
    total = session.scalar(select(func.count()).select_from(Station).where(*cond))
    stmt = select(Station).where(*cond)
    if page.after:
        stmt = stmt.where(Station.code > page.after)
    elif page.offset:
        stmt = stmt.offset(page.offset)
    stations = session.scalars(stmt.order_by(Station.code).limit(page.size)).unique().all()
    return list(stations), int(total or 0)


def region_tree(session: Session, *, root: str | None, depth: int) -> list[dict[str, Any]]:
    """Nested ``{id, name, path, children}``: top nodes (or ``root``'s children), ``depth`` levels."""
    base = root.strip().strip("/") if root else ""
    top = base.count("/") + 2 if base else 1  # number of levels of the first nodes returned
    stmt = select(Region.id, Region.name, Region.path, Region.parent_id)
    if base:
        stmt = stmt.where(Region.path.like(escape_like(base) + "/%", escape="\\"))
    nodes: dict[int, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    rows = sorted(session.execute(stmt).all(), key=lambda r: (r.path.count("/"), r.path))  # parents first
    for rid, name, path, parent_id in rows:
        level = path.count("/") + 1
        if level >= top + depth:
            continue
        node = {"id": rid, "name": name, "path": path, "children": []}
        nodes[rid] = node
        parent = nodes.get(parent_id) if parent_id is not None and level > top else None
        (parent["children"] if parent else roots).append(node)
    return roots


def tag_counts(session: Session) -> list[tuple[str, int]]:
    """Every tag with the number of stations carrying it."""
    stmt = (
        select(Tag.name, func.count(station_tags.c.station_id))
        .outerjoin(station_tags, station_tags.c.tag_id == Tag.id)
        .group_by(Tag.name)
        .order_by(Tag.name)
    )
    return [(name, int(count)) for name, count in session.execute(stmt)]
