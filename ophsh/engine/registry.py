"""The table of operators the embedded store implements: Ophidia name -> handler.

It must list exactly the operators that ``grammar/operators/*.toml`` marks as implemented; a
test keeps the two in step. A handler's module is imported the first time the operator runs,
so that starting ophsh does not load every operator family (and numpy's heavier corners).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from ophsh.engine.ast_lock import AST_LOCK
from ophsh.engine.context import Handler
from ophsh.engine.ops.system import UNAVAILABLE

__all__ = ["HANDLERS"]

_WHERE: dict[str, str] = {
    "oph_createcontainer": "containers.createcontainer",
    "oph_deletecontainer": "containers.deletecontainer",
    "oph_movecontainer": "containers.movecontainer",
    "oph_containerschema": "containers.containerschema",
    "oph_folder": "folders.folder",
    "oph_list": "folders.list_",
    "oph_fs": "folders.fs",
    "oph_importfits": "fits.importfits",
    "oph_exportfits": "fits_export.exportfits",
    "oph_importnc": "netcdf_read.importnc",
    "oph_importnc2": "netcdf_read.importnc",
    "oph_importncs": "netcdf_series.importncs",
    "oph_concatnc": "netcdf_concat.concatnc",
    "oph_concatnc2": "netcdf_concat.concatnc",
    "oph_exportnc": "netcdf_write.exportnc",
    "oph_exportnc2": "netcdf_write.exportnc",
    "oph_explorenc": "netcdf_explore.explorenc",
    "oph_metadata": "metadata.metadata",
    "oph_delete": "cubes.delete",
    "oph_cubeio": "provenance.cubeio",
    "oph_tasks": "provenance.tasks",
    "oph_script": "scripts.script",
    "oph_instances": "system.instances",
    "oph_cluster": "system.cluster",
    "oph_showgrid": "system.showgrid",
    "oph_log_info": "system.log_info",
    **dict.fromkeys(UNAVAILABLE, "system.unavailable"),
    "oph_cubeschema": "cubes.cubeschema",
    "oph_cubesize": "cubes.cubesize",
    "oph_cubeelements": "cubes.cubeelements",
    "oph_mergecubes": "merge.mergecubes",
    "oph_mergecubes2": "merge.mergecubes2",
    "oph_reduce": "reduction.reduce",
    "oph_reduce2": "reduction.reduce2",
    "oph_aggregate": "reduction.aggregate",
    "oph_aggregate2": "reduction.aggregate2",
    "oph_intercube2": "intercube.intercube2",
    "oph_rollup": "reshape.rollup",
    "oph_drilldown": "reshape.drilldown",
    "oph_merge": "reshape.merge",
    "oph_split": "reshape.split",
    "oph_hierarchy": "hierarchies.hierarchy",
    "oph_intercube": "intercube.intercube",
    "oph_apply": "apply.apply",
    "oph_search": "search.search",
    "oph_subset": "explore.subset",
    "oph_explorecube": "explore.explorecube",
    "oph_duplicate": "cubes.duplicate",
    "oph_permute": "cubes.permute",
    "oph_randcube": "synthetic.randcube",
    "oph_randcube2": "synthetic.randcube",
    "oph_loggingbk": "jobs.loggingbk",
    "oph_man": "catalogue.man",
    "oph_operators_list": "catalogue.operators_list",
    "oph_primitives_list": "catalogue.primitives_list",
}


class _Handlers(Mapping[str, Handler]):
    """Operator name -> handler, each module imported when one of its operators is asked for."""

    def __init__(self, where: dict[str, str]) -> None:
        self._where = where

    def __getitem__(self, name: str) -> Handler:
        module, function = self._where[name].split(".")
        with AST_LOCK:  # a first import compiles; threads must not build ASTs at once here
            loaded = importlib.import_module(f"ophsh.engine.ops.{module}")
        return getattr(loaded, function)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


HANDLERS: Mapping[str, Handler] = _Handlers(_WHERE)
