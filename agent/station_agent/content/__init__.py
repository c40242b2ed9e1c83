"""Content sync (role stb): signed manifests, resumable rate-capped chunk downloads, atomic activation."""
