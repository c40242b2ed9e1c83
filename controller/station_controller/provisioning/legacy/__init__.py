"""Legacy routers over SSH: the netmiko adapter, vendor profiles and device-level config operations."""
