"""The STB's stream-quality probe: an HLS player model (no decoding) and the player app's own reports.

docs/monitoring.md "Stream quality" defines every figure; runtime.py loads this package for role stb.
"""
