"""Operator, alias, built-in and variable specifications, read from ``grammar/``.

This module is the only reader of ``grammar/``. Ophidia's own facts (``operators.json``) are kept
verbatim; our additions (help text, value kinds, examples) sit beside them in TOML files and are
merged here into frozen records that validation, completion, help, the server and the engine
registry all share.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ophsh.locations import cache_dir

__all__ = [
    "AliasSpec",
    "BuiltinSpec",
    "OperatorSpec",
    "ParamSpec",
    "PrimitiveSpec",
    "Specs",
    "VariableSpec",
    "closest",
    "grammar_dir",
    "load_specs",
]

# Parameters the server and the clients manage themselves; never shown as completions first.
SYSTEM_PARAMS = frozenset(
    {"sessionid", "exec_mode", "ncores", "nthreads", "schedule", "save", "objkey_filter"}
)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of an operator, as Ophidia declares it, plus how ophsh treats its value."""

    name: str
    type: str  # Ophidia's type: string, int, real or char
    mandatory: bool
    default: str | None
    values: tuple[str, ...] | None
    multivalue: bool
    minvalue: str | None = None
    maxvalue: str | None = None
    allownot: bool = False
    kind: str = "text"  # ours: cube, container, folder, file, dir, metadata_key, dimension, text
    help: str = ""
    is_global: bool = False  # added from grammar/globals.toml, not declared by the operator

    @property
    def is_system(self) -> bool:
        """Managed by the clients and the server: not offered first by completion or help."""
        return self.is_global or self.name in SYSTEM_PARAMS


@dataclass(frozen=True)
class OperatorSpec:
    """An operator: Ophidia's facts and, when ophsh documents it, our help and example."""

    name: str
    category: str
    summary: str
    permission: str
    params: tuple[ParamSpec, ...]
    help: str = ""
    example: str = ""
    family: str = ""  # the engine family that implements it ("" = not in the embedded store)
    gathers: tuple[str, ...] = ()  # parameters whose several values it takes in one run
    admin: bool = False  # only the server's administrators may run it
    _index: dict[str, ParamSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({p.name: p for p in self.params})

    def param(self, name: str) -> ParamSpec | None:
        return self._index.get(name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def short_name(self) -> str:
        return self.name.removeprefix("oph_")


@dataclass(frozen=True)
class AliasSpec:
    name: str
    body: str
    help: str = ""


@dataclass(frozen=True)
class BuiltinSpec:
    name: str
    usage: str
    summary: str
    help: str = ""


@dataclass(frozen=True)
class VariableSpec:
    name: str
    default: str | None
    summary: str
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PrimitiveSpec:
    """An array primitive of oph_apply (``grammar/primitives.toml``): its arguments after the
    input and output types, what it returns and whether it combines rows."""

    name: str
    args: str
    returns: str  # array or number
    kind: str  # simple or aggregate
    min_args: int
    max_args: int  # -1: any number
    help: str

    @property
    def signature(self) -> str:
        """How it is written with measure_type=manual."""
        return f"{self.name}(input_type, output_type, {self.args})"


@dataclass(frozen=True)
class Specs:
    """Everything ``grammar/`` declares, indexed by name."""

    operators: dict[str, OperatorSpec]
    aliases: dict[str, AliasSpec]
    builtins: dict[str, BuiltinSpec]
    variables: dict[str, VariableSpec]
    grammar_text: str
    reserved: frozenset[str] = frozenset()  # set by the server; no request may set them
    primitives: dict[str, PrimitiveSpec] = field(default_factory=dict)

    def operator(self, name: str) -> OperatorSpec | None:
        """The operator called ``name``, with or without the ``oph_`` prefix, any case."""
        key = name.lower()
        if not key.startswith("oph_"):
            key = "oph_" + key
        return self.operators.get(key)

    @property
    def implemented(self) -> dict[str, OperatorSpec]:
        return {name: op for name, op in self.operators.items() if op.family}


def grammar_dir() -> Path:
    """Where ``grammar/`` lives: inside an installed wheel, else at the top of the checkout."""
    packaged = Path(__file__).resolve().parent / "_grammar"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "grammar"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("the ophsh grammar files are missing from this installation")


def _read_toml(path: Path) -> dict:
    import tomllib  # only when the cached specifications are made again (see load_specs)

    with path.open("rb") as fh:
        return tomllib.load(fh)


def _param(raw: dict, kinds: dict[str, str], overlay: dict) -> ParamSpec:
    name = raw["name"]
    extra = overlay.get(name, {})
    if isinstance(extra, str):
        extra = {"help": extra}
    values = tuple(raw["values"]) if raw.get("values") else None
    kind = extra.get("kind") or kinds.get(name) or ("enum" if values else "text")
    return ParamSpec(
        name=name,
        type=raw["type"],
        mandatory=bool(raw["mandatory"]),
        default=raw.get("default"),
        values=values,
        multivalue=bool(raw["multivalue"]),
        minvalue=raw.get("minvalue"),
        maxvalue=raw.get("maxvalue"),
        allownot=bool(raw.get("allownot", False)),
        kind=kind,
        help=extra.get("help", ""),
    )


def _globals(raw: dict, kinds: dict[str, str]) -> tuple[ParamSpec, ...]:
    """The parameters every task may carry (grammar/globals.toml)."""
    out = []
    for name, body in raw["params"].items():
        values = tuple(body["values"]) if body.get("values") else None
        out.append(
            ParamSpec(
                name=name,
                type=body["type"],
                mandatory=False,
                default=body.get("default"),
                values=values,
                multivalue=bool(body.get("multivalue", False)),
                minvalue=body.get("minvalue"),
                maxvalue=body.get("maxvalue"),
                kind=kinds.get(name) or ("enum" if values else "text"),
                help=body.get("help", ""),
                is_global=True,
            )
        )
    return tuple(out)


def _operators(root: Path, common: tuple[ParamSpec, ...]) -> dict[str, OperatorSpec]:
    facts = json.loads((root / "operators.json").read_text())
    kinds = _read_toml(root / "kinds.toml")["params"]
    overlays: dict[str, dict] = {}
    for path in sorted((root / "operators").glob("*.toml")):
        for name, body in _read_toml(path).items():
            if name in overlays:
                raise ValueError(f"{path.name}: {name} is documented twice")
            overlays[name] = {**body, "family": body.get("family", path.stem)}
    unknown = set(overlays) - set(facts)
    if unknown:
        raise ValueError(f"grammar overlays name unknown operators: {sorted(unknown)}")
    operators = {}
    for name, raw in facts.items():
        overlay = overlays.get(name, {})
        param_overlay = overlay.get("params", {})
        stray = set(param_overlay) - {p["name"] for p in raw["params"]}
        if stray:
            raise ValueError(f"{name}: overlay documents unknown parameters {sorted(stray)}")
        declared = tuple(_param(p, kinds, param_overlay) for p in raw["params"])
        names = {p.name for p in declared}
        operators[name] = OperatorSpec(
            name=name,
            category=raw.get("category", ""),
            summary=raw.get("summary", ""),
            permission=raw.get("permission", "read"),
            params=declared + tuple(p for p in common if p.name not in names),
            help=overlay.get("help", "").strip(),
            example=overlay.get("example", "").strip(),
            family=overlay.get("family", "") if overlay.get("implemented", True) else "",
            gathers=tuple(overlay.get("gathers", ())),
            admin=bool(overlay.get("admin", False)),
        )
    return operators


def _primitives(path: Path) -> dict[str, PrimitiveSpec]:
    return {
        name: PrimitiveSpec(
            name=name,
            args=body["args"],
            returns=body.get("returns", "array"),
            kind=body.get("kind", "simple"),
            min_args=int(body["min"]),
            max_args=int(body["max"]),
            help=body["help"].strip(),
        )
        for name, body in _read_toml(path).items()
    }


@cache
def load_specs(root: Path | None = None) -> Specs:
    """Every specification under ``root`` (default: :func:`grammar_dir`), merged.

    Parsing the TOML files took a tenth of the start of ``ophsh -e``, so the merged records are
    kept in the user's cache folder under a name made of this module's and the grammar files'
    sizes and times; a change to any of them makes a new one."""
    root = root or grammar_dir()
    cached = cache_dir() / f"specs-{_fingerprint(root)}.pickle"
    try:
        with cached.open("rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, or unreadable: made again
        pass
    specs = _read_specs(root)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        aside = cached.with_name(f"{cached.name}.{os.getpid()}")
        aside.write_bytes(pickle.dumps(specs, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(aside, cached)
    except OSError:
        pass  # no cache folder: read the files again next time
    return specs


def _fingerprint(root: Path) -> str:
    """Names, sizes and times of this module and of every file under ``root``, hashed."""
    files = [Path(__file__), *sorted(p for p in root.rglob("*") if p.is_file())]
    stamps = "\n".join(f"{p}:{s.st_size}:{s.st_mtime_ns}" for p in files for s in [p.stat()])
    return hashlib.sha256(stamps.encode()).hexdigest()[:24]


def _read_specs(root: Path) -> Specs:
    """Read and merge every specification under ``root``."""
    aliases = {
        name: AliasSpec(name, body["body"], body.get("help", ""))
        for name, body in _read_toml(root / "aliases.toml").items()
    }
    builtins = {
        name: BuiltinSpec(name, body["usage"], body["summary"], body.get("help", "").strip())
        for name, body in _read_toml(root / "builtins.toml").items()
    }
    variables = {
        name: VariableSpec(
            name,
            body.get("default"),
            body["summary"],
            tuple(body["values"]) if "values" in body else None,
        )
        for name, body in _read_toml(root / "variables.toml").items()
    }
    common = _read_toml(root / "globals.toml")
    kinds = _read_toml(root / "kinds.toml")["params"]
    return Specs(
        operators=_operators(root, _globals(common, kinds)),
        aliases=aliases,
        builtins=builtins,
        variables=variables,
        grammar_text=(root / "command.lark").read_text(),
        reserved=frozenset(common["reserved"]["names"]),
        primitives=_primitives(root / "primitives.toml"),
    )


def closest(word: str, choices: list[str] | tuple[str, ...], cutoff: float = 0.6) -> str | None:
    """The choice most like ``word`` (for "did you mean"), or None when nothing is close."""
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return matches[0] if matches else None
