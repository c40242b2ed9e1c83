"""station_agent: the Station Fleet device agent (set-top box and router roles)."""

__version__ = "0.1.0"
AGENT_VERSION = __version__

__all__ = ["AGENT_VERSION", "__version__"]
