"""oph_ccluster_kcluster: k-means or k-medians of the elements of each array, on whole blocks.

Ophidia draws random starting partitions (npass of them); here the start is fixed (the
centres spread over the sorted values), so a run can be repeated, and clusters are numbered
from the smallest centre up."""

from __future__ import annotations

import numpy as np

from ophsh.errors import ValidationError

__all__ = ["FUNCTIONS"]

ROUNDS = 100


def kcluster(m, k, *options):
    clusters = int(k)
    words = {str(o).upper() for o in options if isinstance(o, str)}
    unknown = words - {"KMEANS", "KMEDIANS", "CENTROIDS", "LABELS", "ALL"}
    if unknown:
        raise ValidationError(f"oph_ccluster_kcluster: unknown option {sorted(unknown)[0]}")
    if not 1 <= clusters <= m.shape[-1]:
        raise ValidationError(f"oph_ccluster_kcluster: k must lie within 1..{m.shape[-1]}")
    centre = np.nanmedian if "KMEDIANS" in words else np.nanmean
    valid = ~np.isnan(m)
    with np.errstate(all="ignore"):
        centres = np.nanquantile(m, (np.arange(clusters) + 0.5) / clusters, axis=-1)
        centres = np.moveaxis(centres, 0, -1)
        for _ in range(ROUNDS):
            labels = np.argmin(np.abs(m[..., None] - centres[..., None, :]), axis=-1)
            moved = np.stack(
                [centre(np.where(labels == c, m, np.nan), axis=-1) for c in range(clusters)], -1
            )
            moved = np.where(np.isnan(moved), centres, moved)
            if np.allclose(moved, centres, equal_nan=True):
                break
            centres = moved
    order = np.argsort(centres, axis=-1)
    centres = np.take_along_axis(centres, order, axis=-1)
    labels = np.argmin(np.abs(m[..., None] - centres[..., None, :]), axis=-1)
    if "CENTROIDS" in words:
        return centres
    if "LABELS" in words:
        return np.where(valid, labels, np.nan)
    return np.where(valid, np.take_along_axis(centres, labels, axis=-1), np.nan)


FUNCTIONS = {"oph_ccluster_kcluster": kcluster}
