"""Live lessons and stream quality: the ``stream.qoe`` handler that writes the QoE series."""

from ..plugins import Feature
from ..settings import get_settings
from ..tsdb.influx import InfluxLineSink
from .qoe_points import QoePoints


def _tsdb_sink() -> InfluxLineSink:
    s = get_settings()
    return InfluxLineSink(
        url=s.tsdb_url,
        token=s.tsdb_token.get_secret_value(),
        org=s.tsdb_org,
        bucket=s.tsdb_bucket,
        timeout_s=s.tsdb_timeout_s,
    )


FEATURE = Feature(
    name="lessons",
    order=80,
    event_handlers=lambda factory, payloads: [QoePoints(_tsdb_sink)],
)
