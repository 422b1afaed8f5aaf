"""Socket transports implementing asyncio's Transport ABCs on vif's scheduler."""
