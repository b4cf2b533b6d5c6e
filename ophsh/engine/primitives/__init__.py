"""oph_apply's array primitives: the query language (syntax), the evaluator, and one module
per family (arithmetic, series, layout, filters, rows, gsl, wavelet, cluster). The facts about
every primitive live in ``grammar/primitives.toml`` and reach the engine through the specs."""

from ophsh.engine.primitives.evaluator import (
    FUNCTIONS,
    REFUSED,
    TYPES,
    Evaluation,
    combines_rows,
    evaluate,
)

__all__ = ["FUNCTIONS", "REFUSED", "TYPES", "Evaluation", "combines_rows", "evaluate"]
