"""oph_gsl_dwt and oph_gsl_idwt: the periodic pyramid wavelet transform in GSL's layout
(coarsest smooth value first, then the details from the coarsest level to the finest), for
arrays whose length is a power of two, on whole blocks."""

from __future__ import annotations

import numpy as np

from ophsh.errors import ValidationError

__all__ = ["FUNCTIONS"]

_R3 = np.sqrt(3.0)
FILTERS = {
    ("HAAR", 2): np.array([1.0, 1.0]) / np.sqrt(2.0),
    ("DAUBECHIES", 4): np.array([1 + _R3, 3 + _R3, 3 - _R3, 1 - _R3]) / (4 * np.sqrt(2.0)),
}


def _wavelet(name: str, family, member) -> tuple[np.ndarray, np.ndarray, int]:
    """(smoothing filter, detail filter, offset) of a family and member."""
    args = [a for a in (family, member) if a is not None]
    text = [str(a).upper() for a in args if isinstance(a, str)]
    numbers = [int(a) for a in args if not isinstance(a, str)]
    kind = text[0] if text else "DAUBECHIES"
    base = kind.removesuffix("_C")
    size = numbers[0] if numbers else {"HAAR": 2, "DAUBECHIES": 4}.get(base, 0)
    if (base, size) not in FILTERS:
        raise ValidationError(
            f"{name}: wavelet {kind} {size} is not available in the embedded store",
            hint="HAAR, HAAR_C, DAUBECHIES or DAUBECHIES_C (member 4)",
        )
    h = FILTERS[(base, size)]
    g = h[::-1] * np.where(np.arange(h.size) % 2, -1.0, 1.0)
    return h, g, (h.size // 2 if kind.endswith("_C") else 0)


def _check(name: str, m: np.ndarray) -> int:
    n = m.shape[-1]
    if n < 2 or n & (n - 1):
        raise ValidationError(f"{name}: the array's length ({n}) must be a power of two")
    return n


def dwt(m, family=None, member=None):
    h, g, offset = _wavelet("oph_gsl_dwt", family, member)
    a = np.array(m, dtype=np.float64)
    n = _check("oph_gsl_dwt", a)
    while n >= 2:
        half = n // 2
        start = np.arange(0, n, 2) + h.size * n - offset
        smooth = np.zeros((*a.shape[:-1], half))
        detail = np.zeros_like(smooth)
        for k in range(h.size):
            picked = a[..., (start + k) & (n - 1)]
            smooth += h[k] * picked
            detail += g[k] * picked
        a[..., :half], a[..., half:n] = smooth, detail
        n = half
    return a


def idwt(m, family=None, member=None):
    h, g, offset = _wavelet("oph_gsl_idwt", family, member)
    a = np.array(m, dtype=np.float64)
    total = _check("oph_gsl_idwt", a)
    n = 2
    while n <= total:
        half = n // 2
        start = np.arange(0, n, 2) + h.size * n - offset
        smooth, detail = a[..., :half].copy(), a[..., half:n].copy()
        out = np.zeros((*a.shape[:-1], n))
        for k in range(h.size):
            out[..., (start + k) & (n - 1)] += h[k] * smooth + g[k] * detail
        a[..., :n] = out
        n *= 2
    return a


FUNCTIONS = {"oph_gsl_dwt": dwt, "oph_gsl_idwt": idwt}
