"""Use cases. Each owns its transaction and writes its audit events."""
