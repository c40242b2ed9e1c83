"""Campaigns: payload-agnostic fleet rollouts in waves, night windows, thresholds, retries and planning."""
