"""Content bundles: chunking, chunk store, signed manifests, versions, diffs and GC (docs/content.md)."""
