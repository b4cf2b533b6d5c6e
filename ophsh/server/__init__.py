"""``ophsh serve``: the embedded store behind Ophidia's SOAP/JSON protocol, for real clients."""
