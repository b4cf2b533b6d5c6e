"""numpy bound at once, imported when first used: for the modules every start of ophsh imports.

Importing numpy takes longer than all the rest of ``ophsh -e "oph_list"``, which needs none of
it. So the modules that any command imports (the store and its records, the operator context,
the array files, the block kernels) write ``from ophsh.lazy import numpy as np``: the name is
there at once, numpy is imported the first time one of its attributes is read (Python's import
lock makes that safe from several threads), and each attribute read once is then a plain one.
Modules imported only when their operator runs (``engine/ops/*``, the primitives, the importers
and exporters) import numpy as usual. ``tests/test_startup.py`` checks that a command that needs
no numpy does not import it.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

__all__ = ["numpy"]


class _Deferred(types.ModuleType):
    """A module imported on the first read of one of its attributes."""

    def __getattr__(self, attr: str) -> Any:
        value = getattr(importlib.import_module(self.__name__), attr)
        setattr(self, attr, value)  # read from this module's own namespace from now on
        return value


numpy: Any = _Deferred("numpy")
