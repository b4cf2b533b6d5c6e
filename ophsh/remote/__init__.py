"""The remote backend: operators run by an Ophidia server, reached through PyOphidia."""
