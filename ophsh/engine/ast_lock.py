"""One lock around every use of Python's parser by the engine's threads.

CPython before 3.11.8 can corrupt the parser's state when two threads build an AST at once
("AST constructor recursion depth mismatch", python/cpython#106905). numpy parses each ``.npy``
header with ``ast.literal_eval``, and oph_apply parses its query, so both take this lock.
"""

from __future__ import annotations

import threading

__all__ = ["AST_LOCK"]

AST_LOCK = threading.Lock()
