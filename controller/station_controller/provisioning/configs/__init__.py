"""Versioned router config: templates, inherited variables, drafts, backups, applied versions, drift."""
