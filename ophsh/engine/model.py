"""The records of the embedded store: dimensions, cubes, containers, and their PIDs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ophsh.errors import NotFoundError
from ophsh.lazy import numpy as np

__all__ = [
    "MEASURE_DTYPES",
    "Container",
    "Cube",
    "Dim",
    "PidParts",
    "TimeInfo",
    "dtype_of",
    "measure_type_of",
    "parse_pid",
]

# Ophidia's measure and dimension types and the numpy types that hold them.
MEASURE_DTYPES: dict[str, str] = {
    "byte": "int8",
    "short": "int16",
    "int": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
}


def dtype_of(measure_type: str) -> np.dtype:
    return np.dtype(MEASURE_DTYPES[measure_type])


def measure_type_of(dtype: np.dtype) -> str:
    """The Ophidia type that holds ``dtype`` exactly (unsigned and odd types become double)."""
    dtype = np.dtype(dtype)
    for name, candidate in MEASURE_DTYPES.items():
        if np.dtype(candidate) == dtype:
            return name
    if dtype.kind == "u" and dtype.itemsize == 1:
        return "short"
    if dtype.kind == "u" and dtype.itemsize == 2:
        return "int"
    if dtype.kind == "b":
        return "byte"
    return "double"


@dataclass(frozen=True)
class Dim:
    """A dimension of a cube. Explicit ones index rows, implicit ones the arrays in a row.

    A collapsed dimension (reduced away) keeps its record with size 0 and is not in the array.
    """

    name: str
    type: str
    size: int
    explicit: bool
    level: int
    values: np.ndarray = field(compare=False, repr=False)
    hierarchy: str = "oph_base"
    concept_level: str = "c"
    collapsed: bool = False

    def with_(self, **changes) -> Dim:
        return replace(self, **changes)


@dataclass(frozen=True)
class TimeInfo:
    """What makes a dimension a time axis (Ophidia's oph_time hierarchy): values count
    ``units`` (s, m, h, 3, 6 or d, as in Ophidia) from ``base_time`` in ``calendar``."""

    base_time: str = "1900-01-01 00:00:00"
    units: str = "d"
    calendar: str = "standard"
    month_lengths: str = "31,28,31,30,31,30,31,31,30,31,30,31"
    leap_year: str = "0"
    leap_month: str = "2"


@dataclass(frozen=True)
class Container:
    id: int
    folder: int
    name: str
    description: str
    vocabulary: str
    dims: tuple[tuple[str, str, str], ...]  # (name, type, hierarchy)
    web_server: str
    times: tuple[tuple[str, TimeInfo], ...] = ()  # the time facts of oph_time dimensions

    @property
    def pid(self) -> str:
        return f"{self.web_server}/{self.id}"

    def dim_type(self, name: str) -> str | None:
        for dname, dtype, _ in self.dims:
            if dname == name:
                return dtype
        return None

    def time_of(self, name: str) -> TimeInfo | None:
        """The time facts of dimension ``name``, when it is a time axis."""
        return dict(self.times).get(name)


@dataclass(frozen=True)
class Cube:
    """A datacube as the catalog describes it (the array itself stays on disk)."""

    id: int
    container: int
    container_name: str
    folder: int
    measure: str
    measure_type: str
    level: int
    source: str
    description: str
    created: str
    data_file: str  # empty for a virtual cube (see ophsh.engine.recipes)
    storage: str  # numpy dtype of the file; may be narrower than the measure type
    dims: tuple[Dim, ...]
    web_server: str
    provenance: str = ""

    @property
    def pid(self) -> str:
        return f"{self.web_server}/{self.container}/{self.id}"

    @property
    def virtual(self) -> bool:
        """True when the cube is a recipe computed on reading, not an array file."""
        return not self.data_file

    @property
    def active_dims(self) -> tuple[Dim, ...]:
        """The dimensions in array order: explicit by level, then implicit by level."""
        live = [d for d in self.dims if not d.collapsed]
        return tuple(sorted(live, key=lambda d: (not d.explicit, d.level)))

    @property
    def explicit_dims(self) -> tuple[Dim, ...]:
        return tuple(d for d in self.active_dims if d.explicit)

    @property
    def implicit_dims(self) -> tuple[Dim, ...]:
        return tuple(d for d in self.active_dims if not d.explicit)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.active_dims)

    @property
    def elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.active_dims else 1

    @property
    def dtype(self) -> np.dtype:
        return dtype_of(self.measure_type)

    def dim(self, name: str) -> Dim:
        for d in self.dims:
            if d.name == name:
                return d
        names = ", ".join(d.name for d in self.dims)
        raise NotFoundError(f"cube {self.pid} has no dimension '{name}' (it has {names})")

    def axis(self, name: str) -> int:
        """The array axis of a live dimension."""
        for i, d in enumerate(self.active_dims):
            if d.name == name:
                return i
        dim = self.dim(name)
        raise NotFoundError(f"dimension '{dim.name}' of {self.pid} was reduced away")


@dataclass(frozen=True)
class PidParts:
    web_server: str
    container: int
    cube: int | None


_PID = re.compile(r"^(?P<ws>.+?)/(?P<container>\d+)(?:/(?P<cube>\d+))?/?$")


def parse_pid(text: str) -> PidParts | None:
    """Split ``<web server>/<container id>[/<cube id>]``; None when ``text`` is not a PID."""
    match = _PID.match(text.strip())
    if not match or "://" not in match.group("ws"):
        return None
    cube = match.group("cube")
    return PidParts(match.group("ws"), int(match.group("container")), int(cube) if cube else None)
