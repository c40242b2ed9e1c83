"""Hostile-device suite: one enrolled device attacks while honest devices run against the real stack."""
