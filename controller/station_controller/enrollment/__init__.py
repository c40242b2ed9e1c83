"""Device enrollment: one-time tokens, the enroll exchange, revoke, re-issue and broker sync."""
