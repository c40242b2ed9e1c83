"""Registry: regions, stations, devices and tags."""
