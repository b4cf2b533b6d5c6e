"""Operator handlers, one module per family. Each handler is ``(ctx, params) -> None``."""
