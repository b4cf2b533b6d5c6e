"""ophsh: an Ophidia-compatible datacube shell with an embedded store."""

__version__ = "0.1.0"
