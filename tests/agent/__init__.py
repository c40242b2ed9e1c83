"""Tests of station_agent (the device agent)."""
