"""Turning response documents into something to look at."""
