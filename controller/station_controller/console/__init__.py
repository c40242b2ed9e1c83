"""Server-rendered staff console: station list, station and device pages, login (router in routes.py)."""
