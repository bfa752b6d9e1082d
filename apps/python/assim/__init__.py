"""assim from Python: validate and run experiments, list the plugins, open results.

The same Session, plugins and stages as the command line `assim` (the compiled
half, assim._assim, is a binding over the framework): a run from Python writes
the same folders, and a bad value raises ExperimentError naming the file, line
and key, as `assim validate` prints them.

    import logging, assim
    logging.basicConfig(level=logging.INFO)            # the framework's log and progress lines
    results = assim.run("experiments/quickstart.yaml", set=["stages.truth.frames=20"])
    truth = assim.open(results["truth"])               # an xarray.Dataset

Log and progress lines go to the logger "assim" (Python's logging), not to
standard error. The framework runs one process, one rank (no MPI from Python).
"""

import atexit
import logging
import os
import pathlib

from . import _assim
from ._assim import Error, ExperimentError

__all__ = ["Error", "ExperimentError", "Results", "open", "plugins", "run", "validate"]

logger = logging.getLogger("assim")

_to_logging = {
    _assim.Level.debug: logging.DEBUG,
    _assim.Level.info: logging.INFO,
    _assim.Level.warning: logging.WARNING,
    _assim.Level.error: logging.ERROR,
}


def _forward(level, message):
    logger.log(_to_logging[level], message)


_assim.set_log_sink(_forward)
# Before the interpreter ends: the sink holds a Python function.
atexit.register(_assim.set_log_sink, None)


def _follow_logger():
    """The framework writes the levels the "assim" logger lets through (it skips
    building the others' messages)."""
    n = logger.getEffectiveLevel()
    _assim.set_log_level(
        _assim.Level.debug if n <= logging.DEBUG else
        _assim.Level.info if n <= logging.INFO else
        _assim.Level.warning if n <= logging.WARNING else _assim.Level.error)


# The first line of a file written from a dict: such a file may be written
# again, any other file is left alone.
_DICT_HEADER = "# Written by assim (Python) from a dict; written again at each call: edit the dict, not this file.\n"


def _experiment_file(experiment, file):
    """The experiment's file: `experiment` itself, or a dict written as YAML.

    A dict is written to `file`, by default NAME.yaml in the current folder
    (NAME its 'name'), one key per line, so that an error's file:line points at
    the key it names; files it names are relative to that folder, as in any
    experiment file."""
    if not isinstance(experiment, dict):
        if file is not None:
            raise TypeError("file= is for a dict experiment; this one is a file already")
        return os.fspath(experiment)
    if file is None:
        name = experiment.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("a dict experiment needs a 'name' (it names its file, NAME.yaml in the current "
                             "folder, and its results' folder), or file= naming the file to write it to")
        file = name + ".yaml"
    path = pathlib.Path(file)
    if path.exists():
        with path.open() as existing:
            if existing.readline() != _DICT_HEADER:
                raise FileExistsError(f"{path} exists and was not written from a dict: name another with file=")
    path.write_text(_DICT_HEADER + _assim.yaml_text(experiment))
    return os.fspath(path)


def _list(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def validate(experiment, set=(), variant=None, file=None):
    """Checks an experiment (a file, or a dict) as `assim validate` does: every
    value against its declaration, before anything runs.

    `set`: overrides "path=value" (a string or a list), as --set. Returns a dict:
    name, stages (in run order), variant_stages (those `run(..., variant=...)`
    writes to <stage>@<variant>) and resolved (the experiment as it would run,
    YAML text). Raises ExperimentError naming the file, line and key at fault."""
    _follow_logger()
    return _assim.validate(_experiment_file(experiment, file), _list(set), variant or "")


class Results(dict):
    """Each stage's result folder (pathlib.Path), in run order; `folder` is the
    experiment's own (OUTPUT/<name>)."""

    @property
    def folder(self):
        return next(iter(self.values())).parent


def run(experiment, set=(), only=(), force=False, keep_going=False, adopt=False, variant=None, output="runs",
        workers=0, threads=0, file=None):
    """Runs an experiment (a file, or a dict) as `assim run` does, reusing the
    results whose hash is unchanged; returns Results, each stage's folder.

    The arguments are the command line's options: `set` (--set, a string or a
    list), `only` (stage names or glob patterns), `force`, `keep_going`,
    `adopt`, `variant`, `output` (the results' root), `workers` and `threads`
    (0: automatic, as there; `threads` also sets PyTorch's own intra-op
    threads, the library being the same). The call holds no Python lock while
    the stages run; log and progress lines reach the "assim" logger. Raises
    ExperimentError for bad input (before anything runs) and Error for a stage
    that failed."""
    _follow_logger()
    folders = _assim.run(_experiment_file(experiment, file), _list(set), os.fspath(output), _list(only), force,
                         keep_going, adopt, variant or "", workers, threads)
    return Results((stage, pathlib.Path(folder)) for stage, folder in folders)


def plugins(experiment=None):
    """The component types and stages with their parameters, as `assim plugins
    --verbose` lists them: {"types": {name: {kind, doc, plugin, version, file,
    parameters}}, "stages": {name: {doc, parameters}}}; each parameter a dict of
    name, type, required, default, unit, doc, description (the line the command
    line prints) and fields (a section's own). With an experiment (a file), its
    plugin_path's plugins too."""
    _follow_logger()
    return _assim.plugins(os.fspath(experiment) if experiment is not None else "")


def open(path, **kwargs):
    """A product as an xarray.Dataset: a NetCDF file a stage wrote, or a stage's
    folder holding one.

    The host writes each product through its one writer (framework/src/products)
    with a coordinate variable for every dim, units and long names on every
    variable and the state's description as attributes, so xarray's own reader
    needs nothing more: this is xarray.open_dataset (`kwargs` go to it) on the
    stage's product."""
    import xarray

    path = pathlib.Path(path)
    if path.is_dir():
        products = sorted(path.glob("*.nc"))
        if len(products) != 1:
            names = ", ".join(p.name for p in products) or "none"
            raise ValueError(f"{path}: a stage folder with {len(products)} products ({names}); name the file")
        path = products[0]
    return xarray.open_dataset(path, **kwargs)
