"""Tests of the agent command handlers."""
