"""REST API plumbing: dependencies, the /api/v1 router, health routes."""
