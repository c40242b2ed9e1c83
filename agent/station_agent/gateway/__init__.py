"""Captive-portal gateway of the router agent: nftables table, tc shaping, sessions, splash responder."""
