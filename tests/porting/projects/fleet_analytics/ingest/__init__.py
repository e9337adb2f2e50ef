"""Raw vehicle data: telemetry pings and the vehicle registry."""
