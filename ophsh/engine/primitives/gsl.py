"""Statistics, transforms and fits (Ophidia's oph_gsl_* family) on whole blocks with numpy and
scipy. Complex arrays stay numpy complex between nested primitives; the evaluator stores them as
(real, imaginary) pairs."""

from __future__ import annotations

import numpy as np

from ophsh.errors import ValidationError

__all__ = ["FUNCTIONS"]


def _column(values: np.ndarray) -> np.ndarray:
    return values[..., None]


def sd(m):
    with np.errstate(all="ignore"):
        return _column(np.nanstd(m, axis=-1, ddof=1))


STATS_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def stats(m, mask="1" * 14):
    """Mean, variance, sd, absolute deviation, skewness, kurtosis (excess), lag-1
    autocorrelation, max, min and the 5%, 25%, 50%, 75% and 95% quantiles; the mask's 1s (up to
    14 digits) choose which."""
    flags = str(mask).strip()
    if not 0 < len(flags) <= 14 or set(flags) - {"0", "1"} or "1" not in flags:
        raise ValidationError("oph_gsl_stats: the mask is up to 14 digits of 0 and 1, e.g. 1100")
    with np.errstate(all="ignore"):
        mean = np.nanmean(m, axis=-1, keepdims=True)
        dev = m - mean
        var = np.nanvar(m, axis=-1, ddof=1, keepdims=True)
        std = np.sqrt(var)
        z = dev / std
        lagged = np.nansum(dev[..., 1:] * dev[..., :-1], axis=-1, keepdims=True)
        columns = [
            mean,
            var,
            std,
            np.nanmean(np.abs(dev), axis=-1, keepdims=True),
            np.nanmean(z**3, axis=-1, keepdims=True),
            np.nanmean(z**4, axis=-1, keepdims=True) - 3,
            lagged / np.nansum(dev * dev, axis=-1, keepdims=True),
            np.nanmax(m, axis=-1, keepdims=True),
            np.nanmin(m, axis=-1, keepdims=True),
        ]
        if "1" in flags[9:]:
            columns += list(np.moveaxis(quantile(m, *STATS_QUANTILES), -1, 0)[..., None])
    return np.concatenate([c for c, f in zip(columns, flags, strict=False) if f == "1"], axis=-1)


def quantile(m, *args):
    """Quantiles (0..1, the median by default) interpolated between sorted elements; the
    elements are always sorted first, so ORDER_FLAG_SET and _UNSET give the same."""
    flags = {str(a).upper() for a in args if isinstance(a, str)}
    if "INDEX" in flags:
        raise ValidationError("oph_gsl_quantile: INDEX is not available in the embedded store")
    if flags - {"ORDER_FLAG_SET", "ORDER_FLAG_UNSET"}:
        raise ValidationError(f"oph_gsl_quantile: unknown flag {sorted(flags)[0]}")
    qs = [float(a) for a in args if not isinstance(a, str)] or [0.5]
    if any(not 0 <= q <= 1 for q in qs):
        raise ValidationError("oph_gsl_quantile: every q must lie between 0 and 1")
    rows = np.asarray(m, dtype=np.float64).reshape(-1, np.shape(m)[-1])
    out = np.full((len(rows), len(qs)), np.nan)
    valued = ~np.isnan(rows).all(axis=-1)  # a row of only missing values has missing quantiles
    if valued.any():
        out[valued] = np.nanquantile(rows[valued], qs, axis=-1).T
    return out.reshape(*np.shape(m)[:-1], len(qs))


def boxplot(m):
    low, high = np.fmin.reduce(m, axis=-1), np.fmax.reduce(m, axis=-1)  # NaN only if all are
    return np.concatenate(
        [_column(low), quantile(m, 0.25, 0.5, 0.75), _column(high)],
        axis=-1,
    )


def histogram(m, nbin, what="ALL", scale="ABS"):
    """Counts in ``nbin`` equal bins from the minimum to the maximum plus one (as Ophidia
    draws them): bin edges (RANGES), frequencies (FREQS) or both interleaved (ALL)."""
    bins = int(nbin)
    if bins < 1:
        raise ValidationError("oph_gsl_histogram: nbin must be at least 1")
    low = np.nanmin(m, axis=-1, keepdims=True)
    width = np.nanmax(m, axis=-1, keepdims=True) + 1 - low  # bins span [min, max + 1)
    index = np.clip(np.floor((m - low) / width * bins), 0, bins - 1)
    rows = m.reshape(-1, m.shape[-1]).shape[0]
    flat = np.where(np.isnan(m), -1, index).reshape(rows, -1)
    offsets = flat + (np.arange(rows) * bins)[:, None]
    counts = np.bincount(offsets[flat >= 0].astype(np.int64), minlength=rows * bins)
    freqs = counts.reshape(rows, bins).astype(np.float64)
    total = freqs.sum(axis=-1, keepdims=True)
    kind = str(scale).upper()
    with np.errstate(all="ignore"):
        if kind == "PDF":
            freqs = freqs / total
        elif kind == "CDF":
            freqs = np.cumsum(freqs, axis=-1) / total
        elif kind != "ABS":
            raise ValidationError(f"oph_gsl_histogram: '{scale}' is not ABS, PDF or CDF")
    edges = low.reshape(rows, 1) + width.reshape(rows, 1) * np.arange(bins + 1) / bins
    part = str(what).upper()
    if part not in ("RANGES", "FREQS", "ALL"):
        raise ValidationError(f"oph_gsl_histogram: '{what}' is not RANGES, FREQS or ALL")
    if part == "ALL":  # edge, frequency, edge, ..., the last edge
        pairs = np.stack([edges[:, :-1], freqs], axis=-1).reshape(rows, -1)
        out = np.concatenate([pairs, edges[:, -1:]], axis=-1)
    else:
        out = edges if part == "RANGES" else freqs
    return out.reshape(*m.shape[:-1], -1)


def _complex(m) -> np.ndarray:
    return m if np.iscomplexobj(m) else m.astype(np.complex128)


def correlation(a, b):
    a, b = np.broadcast_arrays(a, b)
    with np.errstate(all="ignore"):
        da = a - a.mean(axis=-1, keepdims=True)
        db = b - b.mean(axis=-1, keepdims=True)
        r = (da * db).sum(-1) / np.sqrt((da * da).sum(-1) * (db * db).sum(-1))
    return _column(r)


def _line(m, x):
    x = np.broadcast_to(x, m.shape)
    with np.errstate(all="ignore"):
        xm = x.mean(axis=-1, keepdims=True)
        ym = m.mean(axis=-1, keepdims=True)
        sxx = ((x - xm) ** 2).sum(axis=-1, keepdims=True)
        c1 = ((x - xm) * (m - ym)).sum(axis=-1, keepdims=True) / sxx
        c0 = ym - c1 * xm
    return c0, c1, x, xm, sxx


def fit_linear(m, dimension, x):
    c0, c1, *_ = _line(m, dimension)
    return c0 + c1 * np.asarray(x)


def fit_linear_coeff(m, dimension=None, mask="111111"):
    """c0, c1, cov00, cov01, cov11 and the residual sum of squares; the mask chooses."""
    if dimension is None:
        dimension = np.arange(1.0, m.shape[-1] + 1)
    c0, c1, x, xm, sxx = _line(m, dimension)
    n = m.shape[-1]
    with np.errstate(all="ignore"):
        sumsq = ((m - c0 - c1 * x) ** 2).sum(axis=-1, keepdims=True)
        s2 = sumsq / (n - 2)
        cov11 = s2 / sxx
        cov01 = -xm * cov11
        cov00 = s2 * (1 / n + xm * xm / sxx)
    flags = str(mask)
    columns = [c0, c1, cov00, cov01, cov11, sumsq]
    return np.concatenate(
        [c for c, f in zip(columns, flags.ljust(6, "0")[:6], strict=True) if f == "1"], -1
    )


def spline(m, old_dim, new_dim):
    from scipy.interpolate import CubicSpline

    old = np.asarray(old_dim, dtype=np.float64).reshape(-1)
    new = np.asarray(new_dim, dtype=np.float64).reshape(-1)
    if old.size != m.shape[-1]:
        raise ValidationError("oph_gsl_spline: old_dim must have one value per element")
    return CubicSpline(old, m, axis=-1, bc_type="natural")(new)


def _polar(m):
    c = _complex(m)
    return np.abs(c) + 1j * np.angle(c)


def _rect(m):
    c = _complex(m)
    return c.real * np.exp(1j * c.imag)


FUNCTIONS = {
    "oph_gsl_sd": sd,
    "oph_gsl_stats": stats,
    "oph_gsl_quantile": quantile,
    "oph_gsl_boxplot": boxplot,
    "oph_gsl_sort": lambda m: np.sort(m, axis=-1),
    "oph_gsl_histogram": histogram,
    "oph_gsl_correlation": correlation,
    "oph_gsl_fit_linear": fit_linear,
    "oph_gsl_fit_linear_coeff": fit_linear_coeff,
    "oph_gsl_spline": spline,
    "oph_gsl_fft": lambda m: np.fft.fft(m, axis=-1),
    "oph_gsl_ifft": lambda m: np.fft.ifft(_complex(m), axis=-1),
    "oph_gsl_complex_get_abs": lambda m: np.abs(_complex(m)),
    "oph_gsl_complex_get_arg": lambda m: np.angle(_complex(m)),
    "oph_gsl_complex_get_real": lambda m: _complex(m).real,
    "oph_gsl_complex_get_imag": lambda m: _complex(m).imag,
    "oph_gsl_complex_to_polar": _polar,
    "oph_gsl_complex_to_rect": _rect,
}
