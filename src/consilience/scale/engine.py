"""``batch()``: one analysis per group of a large table, on this machine or on a Dask cluster."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from consilience._validation import check_choice, check_level
from consilience.compare.runs import read_runs
from consilience.errors import InputError
from consilience.pooling.tau2 import METHOD_ALIASES, METHODS
from consilience.scale.analyses import ANALYSES, GroupAnalysis
from consilience.scale.meta import by_columns
from consilience.scale.schema import normalise_keys

__all__ = ["Analysis", "Engine", "batch"]

Analysis = Literal["meta", "compare"]
Engine = Literal["local", "dask"]


def _options(analysis: str, given: dict[str, Any]) -> dict[str, Any]:
    """The keyword options of ``analysis``, checked; options of the other analysis refused."""
    meta_only = {"yi": "yi", "vi": "vi", "tau2_ci": True, "backend": None}
    compare_only = {"baseline": None, "candidate": None, "metric": None, "threshold": 0.0,
                    "rope": None, "measure": "MD"}
    method = check_choice("method", given["method"], METHODS, aliases=METHOD_ALIASES)
    test = check_choice("test", given["test"] or ("z" if analysis == "meta" else "knha"),
                        ("z", "knha"))
    check_level(given["level"])
    common = {"method": method, "test": test, "level": given["level"]}
    own, other = (meta_only, compare_only) if analysis == "meta" else (compare_only, meta_only)
    stray = [name for name, default in other.items() if given[name] != default]
    if stray:
        raise InputError(f"option(s) {stray} do not apply to analysis={analysis!r}. Drop them, or "
                         f"choose the analysis they belong to.")
    options = {name: given[name] for name in own} | common
    if analysis == "meta" and options["backend"] is not None and method != "REML":
        raise InputError(f"backend={options['backend']!r} estimates tau² by REML only; got "
                         f"method={method!r}. Use method='REML' or drop the backend.")
    if analysis == "compare":
        missing = [name for name in ("baseline", "candidate") if not options[name]]
        if missing:
            raise InputError(f"analysis='compare' needs {missing}: the arm to compare against and "
                             f"the arm under test, e.g. baseline='resnet', candidate='resnet-aug'.")
        check_choice("measure", options["measure"], ("MD", "SMD", "ROM"))
    return options


def _check_columns(columns: Iterable[Any], by: list[str], needs: list[str]) -> None:
    available = [str(c) for c in columns]
    bad_by = [c for c in by if c not in available]
    if bad_by:
        raise InputError(f"'by' names column(s) {bad_by} that the data does not have. Available "
                         f"columns: {available}.")
    missing = [c for c in needs if c not in available]
    if missing:
        raise InputError(f"the data has no column(s) {missing}, which the analysis reads. "
                         f"Available columns: {available}. Rename them or pass their names.")


def batch(
    data: pd.DataFrame | str | Path,
    *,
    by: str | Sequence[str],
    analysis: Analysis = "meta",
    engine: Engine = "local",
    scheduler: Any = None,
    npartitions: int | None = None,
    yi: str = "yi",
    vi: str = "vi",
    method: str = "REML",
    test: Literal["z", "knha"] | None = None,
    level: float = 95,
    tau2_ci: bool = True,
    backend: str | None = None,
    baseline: str | None = None,
    candidate: str | None = None,
    metric: str | None = None,
    threshold: float = 0.0,
    rope: float | None = None,
    measure: Literal["MD", "SMD", "ROM"] = "MD",
) -> pd.DataFrame:
    """Run one analysis per group of ``data``, locally or on a Dask cluster.

    Parameters
    ----------
    data : DataFrame or path
        The table, or a path to it: Parquet (file, directory or glob) or CSV. With
        ``engine="dask"`` a path is read by the workers themselves (it must be valid there, e.g.
        on shared storage); with ``engine="local"`` it is read here.
    by : str or list of str
        Grouping column(s): one analysis per distinct combination.
    analysis : {"meta", "compare"}
        ``"meta"``: a random-effects meta-analysis per group of a table of effect sizes
        (:func:`~consilience.scale.meta_per_group`); ``"compare"``: a candidate-versus-baseline
        comparison per group of a runs table (:func:`~consilience.scale.compare_per_group`).
    engine : {"local", "dask"}
        ``"local"``: one process, all groups at once. ``"dask"``: ``dask.dataframe`` on a
        ``distributed`` cluster (needs ``dask[dataframe]`` and ``distributed``).
    scheduler : str or distributed.Client, optional
        With ``engine="dask"``: the scheduler address (``"tcp://10.0.0.5:8786"``) or a client.
        Default: the client already active in this process, else Dask's local threads.
    npartitions : int, optional
        With ``engine="dask"``: partitions after the shuffle on ``by`` (default: as many as the
        input has; a DataFrame is split into one partition per 100,000 rows).
    yi, vi, tau2_ci :
        ``analysis="meta"`` only: effect-size and variance columns, Q-profile intervals.
    backend : {"torch", "cupy", "numpy", "array-api-strict"}, optional
        ``analysis="meta"`` with REML only: estimate tau² with the array-API kernel on this
        backend (a GPU with ``"torch"`` or ``"cupy"``; with ``engine="dask"`` on the workers),
        as in :func:`consilience.meta_analyze_many`. Default: the numpy kernels.
    method, test, level :
        tau² estimator, ``"z"`` or ``"knha"`` inference (default ``"z"`` for meta, ``"knha"``
        for compare) and confidence level.
    baseline, candidate, metric, threshold, rope, measure :
        ``analysis="compare"`` only: as in :func:`consilience.compare.compare`.

    Returns
    -------
    DataFrame
        The ``by`` columns, then the analysis' declared columns (:data:`META_SCHEMA` or
        :data:`COMPARE_SCHEMA`), one row per group, sorted by the group keys. Both engines
        return the same rows, columns, dtypes and numbers.

    Raises
    ------
    InputError
        Unknown option values, options of the other analysis, ``by`` or analysis columns
        missing from the data (named in the message), or an invalid group.
    MissingDependencyError
        ``engine="dask"`` without Dask installed.

    Warns
    -----
    DataDroppedWarning, SmallSampleWarning, ConvergenceWarning, ConsilienceWarning
        Counted over the combined result, the same for both engines.

    Notes
    -----
    The Dask engine shuffles rows on the ``by`` columns, so each group lies in one partition,
    and runs the analysis once per partition with ``map_partitions`` (``meta=`` built from the
    declared schema). Every group's numbers depend on its own rows only (see
    :func:`~consilience.scale.meta_per_group`), so the partitioning cannot change them.

    Validated against: the local engine (exact equality of every column) on a
    ``distributed.LocalCluster`` with two worker processes, ``tests/scale``.
    """
    analysis_ = check_choice("analysis", analysis, tuple(ANALYSES))
    engine_ = check_choice("engine", engine, ("local", "dask"))
    by_cols = by_columns(by)
    if engine_ == "local" and (scheduler is not None or npartitions is not None):
        raise InputError("'scheduler' and 'npartitions' apply to engine='dask' only. Drop them, "
                         "or pass engine='dask'.")
    if npartitions is not None and (isinstance(npartitions, bool)
                                    or not isinstance(npartitions, int) or npartitions < 1):
        raise InputError(f"The 'npartitions' parameter must be a positive integer. "
                         f"Got {npartitions!r} instead.")
    if not isinstance(data, (pd.DataFrame, str, Path)):
        raise TypeError(f"'data' must be a DataFrame or a path to Parquet/CSV; got "
                        f"{type(data).__name__}.")
    spec: GroupAnalysis = ANALYSES[analysis_]
    options = _options(analysis_, {
        "yi": yi, "vi": vi, "tau2_ci": tau2_ci, "backend": backend, "method": method, "test": test,
        "level": level,
        "baseline": baseline, "candidate": candidate, "metric": metric, "threshold": threshold,
        "rope": rope, "measure": measure,
    })
    if engine_ == "local":
        frame = read_runs(data)
        _check_columns(frame.columns, by_cols, spec.needs(options))
        out = spec.run_quiet(frame, by_cols, options)
    else:
        from consilience.scale._dask import dask_frame, run_dask

        if isinstance(data, (str, Path)) and "://" not in str(data) and not any(
                ch in str(data) for ch in "*?[") and not Path(data).exists():
            raise InputError(f"data file '{data}' does not exist. Check the path.")
        ddf = dask_frame(data, npartitions)
        _check_columns(ddf.columns, by_cols, spec.needs(options))
        out = run_dask(ddf, analysis=spec, by=by_cols, options=options, scheduler=scheduler,
                       npartitions=npartitions)
    out = spec.schema.conform(normalise_keys(out, by_cols), by_cols)
    out = out.sort_values(by_cols, kind="stable").reset_index(drop=True)
    spec.announce(out)
    return out
