"""Alerts (issue 11): vmalert evaluates monitoring/alerts, Alertmanager routes; this package receives."""
