"""Shared web kit below every feature's pages: templating, i18n, CSRF tokens (no feature imports)."""
