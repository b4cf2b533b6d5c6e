"""oph_filter: frequency filters of each row (low-pass, high-pass, band-pass, band-stop).

Ophidia transforms the row with GSL, zeroes a range of coefficients and transforms back. The
range is worked out as Ophidia does, on GSL's layout of the coefficients (the half-complex
packing for real rows, interleaved pairs for complex ones), so that the same frequencies go;
the transforms themselves are numpy's, on whole blocks.
"""

from __future__ import annotations

import math

import numpy as np

from ophsh.errors import ValidationError

__all__ = ["FUNCTIONS"]

_TWO_CUTS = ("BPF", "BSF")


def _kind(filter_type, cuts: list[float]) -> str:
    kind = str(filter_type).strip().upper()
    if kind not in ("LPF", "HPF", *_TWO_CUTS):
        raise ValidationError(f"unknown filter type '{filter_type}'", hint="LPF, HPF, BPF or BSF")
    wanted = 2 if kind in _TWO_CUTS else 1
    if len(cuts) != wanted:
        raise ValidationError(f"{kind} takes {wanted} cut frequenc{'ies' if wanted > 1 else 'y'}")
    if any(not 0.0 <= c <= 0.5 for c in cuts) or (wanted == 2 and cuts[0] > cuts[1]):
        raise ValidationError("cut frequencies lie in [0, 0.5], the first not above the second")
    return kind


def _real_zeroes(kind: str, n: int, cuts: list[float]) -> np.ndarray:
    """Which half-complex coefficients (GSL's packing of a real row's spectrum) become 0."""
    odd = n % 2
    span = (n - (1 if odd else 2)) * 2 + (1 if odd else 2)
    zero = np.zeros(n, dtype=bool)
    if kind == "BPF":
        low, high = math.floor(span * cuts[0]), math.ceil(span * cuts[1])
        zero[: low - 1 if low % 2 == 0 and low else low] = True
        zero[high + 1 if high % 2 == 0 else high + 2 :] = True
        return zero
    if kind == "HPF":
        top = math.floor(span * cuts[0])
        start, stop = 0, top - 1 if top % 2 == 0 and top else top
        zero[0] = start < stop
        start += 1
    elif kind == "LPF":
        low = math.ceil(span * cuts[0])
        start, stop = low + 1 if low % 2 == 0 else low + 2, n
    else:
        low, high = math.ceil(span * cuts[0]), math.floor(span * cuts[1])
        start = low + 1 if low % 2 == 0 else low + 2
        stop = max(start, high - 1 if high % 2 == 0 else high)
    for first in range(start, stop, 2):
        zero[first : first + 2] = True
    return zero


def _to_spectrum(hc: np.ndarray) -> np.ndarray:
    n = hc.shape[-1]
    spectrum = np.zeros((*hc.shape[:-1], n // 2 + 1), dtype=np.complex128)
    spectrum[..., 0] = hc[..., 0]
    half = (n - 1) // 2
    spectrum[..., 1 : half + 1] = hc[..., 1 : 2 * half : 2] + 1j * hc[..., 2 : 2 * half + 1 : 2]
    if n % 2 == 0:
        spectrum[..., n // 2] = hc[..., n - 1]
    return spectrum


def _to_halfcomplex(spectrum: np.ndarray, n: int) -> np.ndarray:
    hc = np.empty((*spectrum.shape[:-1], n))
    hc[..., 0] = spectrum[..., 0].real
    half = (n - 1) // 2
    hc[..., 1 : 2 * half : 2] = spectrum[..., 1 : half + 1].real
    hc[..., 2 : 2 * half + 1 : 2] = spectrum[..., 1 : half + 1].imag
    if n % 2 == 0:
        hc[..., n - 1] = spectrum[..., n // 2].real
    return hc


def _complex_zeroes(kind: str, n: int, cuts: list[float]) -> np.ndarray:
    """Which frequency bins of a complex row become 0 (each with its mirror n-k)."""
    bins: list[range] = []
    if kind == "LPF":
        low = math.ceil(n * cuts[0]) + 1
        first = low * 2 if cuts[0] == 0 else (low - 1) * 2
        bins.append(range(first // 2, (n + 2) // 2))
    elif kind == "HPF":
        bins.append(range(0, math.floor(n * cuts[0])))
    elif kind == "BPF":
        low, high = math.floor(n * cuts[0]), math.ceil(n * cuts[1])
        bins += [range(0, low), range(high, (n + 2) // 2)]
    else:
        low, high = math.ceil(n * cuts[0]), math.floor(n * cuts[1])
        bins.append(range(low, max(low, high)))
    zero = np.zeros(n, dtype=bool)
    for group in bins:
        k = np.array([b for b in group if b < n], dtype=np.int64)
        zero[k] = True
        zero[(n - k[k > 0]) % n] = True
    return zero


def filter_(m, filter_type, cut_frequency1, cut_frequency2=None):
    """The row without the frequencies the filter removes."""
    cuts = [float(c) for c in (cut_frequency1, cut_frequency2) if c is not None]
    kind = _kind(filter_type, cuts)
    n = m.shape[-1]
    if np.iscomplexobj(m):
        spectrum = np.fft.fft(m, axis=-1)
        spectrum[..., _complex_zeroes(kind, n, cuts)] = 0.0
        return np.fft.ifft(spectrum, axis=-1)
    hc = _to_halfcomplex(np.fft.rfft(m, axis=-1), n)
    hc[..., _real_zeroes(kind, n, cuts)] = 0.0
    return np.fft.irfft(_to_spectrum(hc), n=n, axis=-1)


FUNCTIONS = {"oph_filter": filter_}
