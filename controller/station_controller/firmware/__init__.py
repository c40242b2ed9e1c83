"""Firmware and agent updates: signed releases, device update state, the ``firmware`` campaign payload."""
