"""Shared kernel: helpers every controller feature uses (UTC clock, one-time tokens); imports none of ours."""
