"""``stationctl``: the staff command line over the controller's REST API (progress bars, live follow)."""
