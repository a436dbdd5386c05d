"""Two groups with a binary outcome (2x2 tables): RD, RR and OR, with metafor's zero-cell rules.

The table of study *i* has ``ai`` events and ``bi`` non-events in group 1 (``n1i = ai + bi``) and
``ci`` events and ``di`` non-events in group 2 (``n2i = ci + di``). Either the non-events or the
group sizes may be given.

Zero cells (metafor's defaults, which consilience keeps): with ``to="only0"`` and ``add=0.5``,
studies with at least one zero cell get 1/2 added to all four cells, for all three measures, for
both ``yi`` and ``vi``. A double-zero study (no events, or only events, in both groups) is kept and
corrected the same way unless ``drop00=True``, which makes its ``yi`` and ``vi`` NaN.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from consilience.effects._registry import (
    Bound,
    FloatArray,
    Measure,
    Split,
    ZeroCellOptions,
    register,
)

__all__ = ["add_to_zero_cells", "log_odds_ratio", "log_risk_ratio", "risk_difference"]

_REQUIRED = ("ai", "ci")
_SPLITS = (Split("ai", "bi", "n1i"), Split("ci", "di", "n2i"))
_BOUNDS: Mapping[str, Bound] = {a: "nonnegative" for a in ("ai", "bi", "ci", "di", "n1i", "n2i")}


def add_to_zero_cells(
    cells: tuple[FloatArray, ...], options: ZeroCellOptions
) -> tuple[FloatArray, ...]:
    """Add ``options.add`` to every cell of the studies that ``options.to`` selects.

    Parameters
    ----------
    cells : tuple of ndarray
        The cell counts of each study, one array per cell (``ai, bi, ci, di`` or ``xi, mi``).
    options : ZeroCellOptions
        ``to="only0"``: studies with at least one zero cell; ``"if0all"``: every study when any
        study has a zero cell; ``"all"``: every study; ``"none"``: no study.

    Returns
    -------
    tuple of ndarray
        The corrected cells, same order. A row with a missing count never counts as having a
        zero cell.

    Validated against: metafor 3.8-1, ``escalc(add=, to=)`` for RR, OR, RD, PR and PLO.
    """
    table = np.vstack(cells)
    k = table.shape[1]
    has_zero = np.any(table == 0, axis=0)
    if options.to == "all":
        selected = np.ones(k, dtype=bool)
    elif options.to == "only0":
        selected = has_zero
    elif options.to == "if0all":
        selected = np.full(k, bool(has_zero.any()))
    else:
        selected = np.zeros(k, dtype=bool)
    corrected = table + options.add * selected
    return tuple(corrected[j] for j in range(corrected.shape[0]))


def _cells(x: Mapping[str, FloatArray], options: ZeroCellOptions) -> tuple[FloatArray, ...]:
    ai, bi, ci, di = (x[a].copy() for a in ("ai", "bi", "ci", "di"))
    if options.drop00:
        double_zero = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        for cell in (ai, bi, ci, di):
            cell[double_zero] = np.nan
    return add_to_zero_cells((ai, bi, ci, di), options)


def risk_difference(
    x: Mapping[str, FloatArray], options: ZeroCellOptions
) -> tuple[FloatArray, FloatArray]:
    r"""Risk difference (measure ``RD``).

    Parameters
    ----------
    x : mapping of str to ndarray
        ``ai, bi, ci, di`` (``n1i, n2i`` completed from them).
    options : ZeroCellOptions
        Zero-cell correction, applied before both ``yi`` and ``vi``.

    Returns
    -------
    yi, vi : ndarray
        ``p1 - p2`` and its large-sample variance.

    Notes
    -----
    With corrected cells, :math:`p_1 = a/(a+b)`, :math:`p_2 = c/(c+d)`:

    .. math:: y_i = p_1 - p_2, \qquad v_i = \frac{p_1(1-p_1)}{n_1} + \frac{p_2(1-p_2)}{n_2}

    References
    ----------
    Fleiss, J. L., & Berlin, J. A. (2009). Effect sizes for dichotomous data. In The handbook of
    research synthesis and meta-analysis (2nd ed.).

    Validated against: metafor 3.8-1, ``escalc(measure="RD")`` (vtype "LS").
    """
    ai, bi, ci, di = _cells(x, options)
    n1, n2 = ai + bi, ci + di
    p1, p2 = ai / n1, ci / n2
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


def log_risk_ratio(
    x: Mapping[str, FloatArray], options: ZeroCellOptions
) -> tuple[FloatArray, FloatArray]:
    r"""Log risk ratio (measure ``RR``).

    Parameters
    ----------
    x : mapping of str to ndarray
        ``ai, bi, ci, di`` (``n1i, n2i`` completed from them).
    options : ZeroCellOptions
        Zero-cell correction, applied before both ``yi`` and ``vi``.

    Returns
    -------
    yi, vi : ndarray
        ``log(p1 / p2)`` and its large-sample variance; NaN when an event count is 0 after
        correction (e.g. with ``to="none"``).

    Notes
    -----
    .. math:: y_i = \log p_1 - \log p_2, \qquad v_i = \frac1a - \frac1{n_1} + \frac1c - \frac1{n_2}

    References
    ----------
    Fleiss, J. L., & Berlin, J. A. (2009). Effect sizes for dichotomous data.

    Validated against: metafor 3.8-1, ``escalc(measure="RR")``.
    """
    ai, bi, ci, di = _cells(x, options)
    n1, n2 = ai + bi, ci + di
    yi = np.log(ai / n1) - np.log(ci / n2)
    vi = 1 / ai - 1 / n1 + 1 / ci - 1 / n2
    return yi, vi


def log_odds_ratio(
    x: Mapping[str, FloatArray], options: ZeroCellOptions
) -> tuple[FloatArray, FloatArray]:
    r"""Log odds ratio (measure ``OR``), Woolf variance.

    Parameters
    ----------
    x : mapping of str to ndarray
        ``ai, bi, ci, di`` (``n1i, n2i`` completed from them).
    options : ZeroCellOptions
        Zero-cell correction, applied before both ``yi`` and ``vi``.

    Returns
    -------
    yi, vi : ndarray
        ``log(odds1 / odds2)`` and its variance; NaN when a cell is 0 after correction.

    Notes
    -----
    .. math:: y_i = \operatorname{logit} p_1 - \operatorname{logit} p_2, \qquad
              v_i = \frac1a + \frac1b + \frac1c + \frac1d

    References
    ----------
    Woolf, B. (1955). On estimating the relation between blood group and disease. Annals of Human
    Genetics, 19(4), 251-253.

    Validated against: metafor 3.8-1, ``escalc(measure="OR")``.
    """
    ai, bi, ci, di = _cells(x, options)
    p1, p2 = ai / (ai + bi), ci / (ci + di)
    yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
    vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
    return yi, vi


for _code, _desc, _fn in (
    ("RD", "risk difference", risk_difference),
    ("RR", "log risk ratio", log_risk_ratio),
    ("OR", "log odds ratio", log_odds_ratio),
):
    register(Measure(_code, _desc, _REQUIRED, _fn, splits=_SPLITS, bounds=_BOUNDS))
