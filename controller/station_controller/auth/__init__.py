"""Staff users, roles (admin/operator/viewer) and login sessions."""
