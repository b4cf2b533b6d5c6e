"""The table of operators the embedded store implements: Ophidia name -> handler.

It must list exactly the operators that ``grammar/operators/*.toml`` marks as implemented; a
test keeps the two in step.
"""

from __future__ import annotations

from ophsh.engine.context import Handler
from ophsh.engine.ops import (
    apply,
    catalogue,
    containers,
    cubes,
    explore,
    fits,
    fits_export,
    folders,
    hierarchies,
    intercube,
    jobs,
    merge,
    metadata,
    netcdf_explore,
    netcdf_read,
    netcdf_write,
    reduction,
    reshape,
    search,
    synthetic,
)

__all__ = ["HANDLERS"]

HANDLERS: dict[str, Handler] = {
    "oph_createcontainer": containers.createcontainer,
    "oph_deletecontainer": containers.deletecontainer,
    "oph_movecontainer": containers.movecontainer,
    "oph_containerschema": containers.containerschema,
    "oph_folder": folders.folder,
    "oph_list": folders.list_,
    "oph_fs": folders.fs,
    "oph_importfits": fits.importfits,
    "oph_exportfits": fits_export.exportfits,
    "oph_importnc": netcdf_read.importnc,
    "oph_importnc2": netcdf_read.importnc,
    "oph_exportnc": netcdf_write.exportnc,
    "oph_exportnc2": netcdf_write.exportnc,
    "oph_explorenc": netcdf_explore.explorenc,
    "oph_metadata": metadata.metadata,
    "oph_delete": cubes.delete,
    "oph_cubeschema": cubes.cubeschema,
    "oph_cubesize": cubes.cubesize,
    "oph_cubeelements": cubes.cubeelements,
    "oph_mergecubes": merge.mergecubes,
    "oph_mergecubes2": merge.mergecubes2,
    "oph_reduce": reduction.reduce,
    "oph_reduce2": reduction.reduce2,
    "oph_aggregate": reduction.aggregate,
    "oph_aggregate2": reduction.aggregate2,
    "oph_intercube2": intercube.intercube2,
    "oph_rollup": reshape.rollup,
    "oph_drilldown": reshape.drilldown,
    "oph_merge": reshape.merge,
    "oph_split": reshape.split,
    "oph_hierarchy": hierarchies.hierarchy,
    "oph_intercube": intercube.intercube,
    "oph_apply": apply.apply,
    "oph_search": search.search,
    "oph_subset": explore.subset,
    "oph_explorecube": explore.explorecube,
    "oph_duplicate": cubes.duplicate,
    "oph_permute": cubes.permute,
    "oph_randcube": synthetic.randcube,
    "oph_loggingbk": jobs.loggingbk,
    "oph_man": catalogue.man,
    "oph_operators_list": catalogue.operators_list,
}
