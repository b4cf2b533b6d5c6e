"""The embedded datacube store: catalog, arrays, sessions and Ophidia's operators on numpy."""
