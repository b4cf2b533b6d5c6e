"""Ophidia's JSON workflows: read, check and run them on the embedded store."""
