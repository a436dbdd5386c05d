"""Scenarios: the expected effect in a setting nobody has run yet, and how far to trust it.

A meta-regression of per-task effects on what describes the setting (the experiment's
moderators such as ``model_family``, task covariates such as the training-set size) predicts the
effect for a new combination, with a confidence interval for the average effect there and a
prediction interval for one new task. The prediction is metafor's ``predict()`` on the same
model. When the setting lies outside the evidence (a number beyond the observed range, a category
never observed) the result says so: the model then extrapolates, or cannot answer at all.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import as_float_vector, check_level, require_columns
from consilience.errors import DataDroppedWarning, InputError
from consilience.pooling import MetaResult, meta_analyze
from consilience.quality._pooling import Method, Test, check_pooling

__all__ = ["EVIDENCE_COLUMNS", "Scenario", "predict_scenario"]

EVIDENCE_COLUMNS = ("moderator", "kind", "model_column", "value", "observed", "inside", "note")
"""Columns of :attr:`Scenario.evidence`: one row per moderator of the setting."""


@dataclass(frozen=True, repr=False)
class Scenario:
    """Result of :func:`predict_scenario`.

    Attributes
    ----------
    setting : dict
        The setting (moderator -> value; numbers as floats, categories as text).
    metric : str or None
    pred, se, ci_low, ci_high : float
        Expected (average) effect in the setting and its confidence interval; NaN when the
        setting names a category never observed.
    pi_low, pi_high : float
        Prediction interval for the effect on one new task in the setting.
    k : int
        Studies in the meta-regression.
    moderators : tuple of str
        The model's columns (``log10_n_train`` for a log-scaled ``n_train``); a categorical
        moderator with one observed level equal to the setting's is left out (it cannot vary).
    extrapolation : bool
        Whether the setting lies outside the evidence.
    message : str
        One sentence: the prediction, and where it leaves the evidence.
    evidence : DataFrame
        Columns :data:`EVIDENCE_COLUMNS`: per moderator its kind, the model column, the value
        asked for, the observed range (numbers) or levels (categories) and whether it is inside.
    meta : MetaResult or None
        The fitted meta-regression (None when no prediction could be made).
    method, test, level, provenance : how it was made.
    """

    setting: Mapping[str, Any]
    metric: str | None
    pred: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    k: int
    moderators: tuple[str, ...]
    extrapolation: bool
    message: str
    evidence: pd.DataFrame = field(repr=False)
    meta: MetaResult | None = field(repr=False)
    method: str = "REML"
    test: str = "knha"
    level: float = 0.95
    provenance: Provenance = field(repr=False, default_factory=lambda: Provenance("", 0))

    def __repr__(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.setting.items())
        flag = " EXTRAPOLATION" if self.extrapolation else ""
        return (f"<Scenario {where}: pred={self.pred:.4g} PI [{self.pi_low:.4g}, "
                f"{self.pi_high:.4g}] k={self.k}{flag}>")

    def to_frame(self) -> pd.DataFrame:
        """One row: ``pred, se, ci_low, ci_high, pi_low, pi_high, k, extrapolation``."""
        keys = ("pred", "se", "ci_low", "ci_high", "pi_low", "pi_high", "k", "extrapolation")
        return pd.DataFrame([{k: getattr(self, k) for k in keys}])

    def to_dict(self) -> dict[str, Any]:
        keys = ("metric", "pred", "se", "ci_low", "ci_high", "pi_low", "pi_high", "k",
                "extrapolation", "message", "method", "test", "level")
        out: dict[str, Any] = {k: json_safe(getattr(self, k)) for k in keys}
        out["setting"] = json_safe(dict(self.setting))
        out["moderators"] = list(self.moderators)
        out["evidence"] = json_safe(self.evidence)
        out["coefficients"] = ([c.to_dict() for c in self.meta.coefficients]
                               if self.meta is not None else [])
        out["tau2"] = json_safe(self.meta.tau2) if self.meta is not None else None
        out["provenance"] = self.provenance.to_dict()
        return out

    def summary(self) -> Summary:
        pct = round(self.level * 100)
        lines: list[tuple[str, Any]] = [
            ("setting", ", ".join(f"{k}={v}" for k, v in self.setting.items())),
            ("metric", self.metric or "-"),
            ("model", (f"meta-regression ({self.method}, test={self.test}) on "
                       f"{', '.join(self.moderators) or 'no moderator'}, k={self.k}")
             if self.meta is not None else "not fitted: the setting lies outside the evidence"),
            ("expected effect", self.pred),
            (f"{pct}% CI", f"[{self.ci_low:.4f}, {self.ci_high:.4f}]"),
            (f"{pct}% PI (one new task)", f"[{self.pi_low:.4f}, {self.pi_high:.4f}]"),
            ("inside the evidence", "no" if self.extrapolation else "yes"),
        ]
        return Summary(title="Scenario", lines=lines, tables=[("evidence", self.evidence)],
                       notes=[self.message, *self.provenance.warnings])


def _fmt(x: float) -> str:
    return f"{x:,.6g}"


def predict_scenario(
    studies: pd.DataFrame,
    setting: Mapping[str, Any],
    *,
    yi: str = "yi",
    vi: str = "vi",
    log10: Sequence[str] = (),
    metric: str | None = None,
    method: Method = "REML",
    test: Test = "knha",
    level: float = 95,
) -> Scenario:
    r"""Predict the effect in a new setting from a meta-regression on the setting's moderators.

    Parameters
    ----------
    studies : DataFrame
        One row per study (task x experiment) with ``yi``, ``vi`` and a column per moderator.
    setting : mapping
        ``{moderator: value}``; the meta-regression uses exactly these moderators. Values may be
        text (from a command line); numeric moderators convert them.
    yi, vi : str
        Column names of the effects and their sampling variances.
    log10 : sequence of str
        Numeric moderators that enter the model as ``log10_<name>`` (sizes, counts). The
        setting and the ranges stay on the original scale.
    metric : str, optional
        Shown on the result.
    method, test, level :
        As in :func:`consilience.meta_analyze` (default REML with Knapp-Hartung).

    Returns
    -------
    Scenario
        ``pred, se, ci_low, ci_high, pi_low, pi_high``, ``extrapolation``, ``message``,
        ``evidence`` and the fitted ``meta``.

    Raises
    ------
    InputError
        A setting key that is not a column; a non-numeric or non-positive value where a number
        (a positive one for ``log10``) is needed.

    Warns
    -----
    DataDroppedWarning
        Studies with a missing moderator value (counted), from :func:`consilience.meta_analyze`.

    Notes
    -----
    With design row :math:`x_0` for the setting (treatment-coded categories, reference the first
    sorted level), :math:`\hat\mu_0 = x_0'\hat\beta`, :math:`SE = \sqrt{x_0' V x_0}`, the CI is
    :math:`\hat\mu_0 \pm c\,SE` and the PI :math:`\hat\mu_0 \pm c\sqrt{SE^2 + \hat\tau^2}` with
    :math:`c` the :math:`t_{k-p}` (Knapp-Hartung) or normal quantile, as metafor's
    ``predict.rma``. The setting is inside the evidence when every number lies within the
    observed [min, max] of the studies used and every category was observed. A number outside
    is still predicted (the line is extrapolated and the flag is set); a category never observed
    gets NaN, since the model has no coefficient for it. Tasks of one experiment share its
    baseline runs, so their effects are not independent; the intervals treat them as
    independent.

    Validated against: metafor 3.8-1 ``predict(rma(yi, vi, mods = ~ factor(model_family) +
    log10_n_train, test="knha"), newmods=...)`` on the example registry's studies
    (``tests/reference/quality``).
    """
    if not isinstance(studies, pd.DataFrame):
        raise TypeError(f"studies must be a pandas DataFrame; got {type(studies).__name__}.")
    if not isinstance(setting, Mapping) or not setting:
        raise InputError("setting must be a non-empty mapping {moderator: value}, e.g. "
                         "{'model_family': 'tree', 'n_train': 10000}.")
    method_c, test_c = check_pooling(method, test)
    require_columns(studies, [yi, vi], what="studies")
    unknown = [k for k in setting if k not in studies.columns]
    if unknown:
        avail = [c for c in studies.columns if c not in (yi, vi)]
        raise InputError(f"setting names {unknown}, which the studies do not record; "
                         f"moderators available: {avail}.")
    bad_log = [c for c in log10 if c not in setting and c not in studies.columns]
    if bad_log:
        raise InputError(f"log10 names {bad_log}, not columns of the studies; name numeric "
                         f"moderators of the setting: {list(setting)}.")
    mods: dict[str, pd.Series] = {}
    new: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    used = pd.Series(True, index=studies.index)
    for key in setting:
        used &= studies[key].notna()
    n_missing = int((~used).sum())
    data = studies.loc[used]
    flags: list[str] = []
    impossible = False
    parsed: dict[str, Any] = {}
    for key, raw in setting.items():
        col = data[key]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric:
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise InputError(f"setting {key}={raw!r}: {key} is numeric in the studies; give "
                                 "a number.") from None
            if not math.isfinite(value):
                raise InputError(f"setting {key}={raw!r} must be a finite number; give the "
                                 f"{key} of the setting to predict.")
            parsed[key] = value
            vals = col.to_numpy(dtype=float)
            lo, hi = float(vals.min()), float(vals.max())
            name = key
            if key in log10:
                if value <= 0 or lo <= 0:
                    raise InputError(f"{key} enters the model as log10({key}) and must be > 0; "
                                     f"got {value:g} (observed minimum {lo:g}).")
                name = f"log10_{key}"
                mods[name] = pd.Series(np.log10(vals), index=col.index)
                new[name] = [math.log10(value)]
            else:
                mods[name] = col.astype(float)
                new[name] = [value]
            inside = lo <= value <= hi
            side, edge = ("below the smallest", lo) if value < lo else ("above the largest", hi)
            note = ("" if inside else f"{key}={_fmt(value)} is {side} value observed "
                    f"({_fmt(edge)}): the model extrapolates")
            rows.append({"moderator": key, "kind": "numeric", "model_column": name,
                         "value": value, "observed": f"{_fmt(lo)} to {_fmt(hi)}",
                         "inside": inside, "note": note})
        else:
            category = str(raw)
            parsed[key] = category
            levels = sorted(map(str, col.astype(str).unique()))
            inside = category in levels
            note = ""
            if not inside:
                impossible = True
                note = (f"{key}={category!r} was never observed (observed: {', '.join(levels)}): "
                        "no prediction is possible")
            name = key
            if inside and len(levels) > 1:
                mods[name] = col.astype(str)
                new[name] = [category]
            elif inside:
                name = ""
                note = f"every study has {key}={category!r}: it cannot vary and is left out"
            rows.append({"moderator": key, "kind": "categorical", "model_column": name,
                         "value": category, "observed": ", ".join(levels), "inside": inside,
                         "note": note})
        if rows[-1]["note"] and not rows[-1]["inside"]:
            flags.append(rows[-1]["note"])
    evidence = pd.DataFrame(rows, columns=list(EVIDENCE_COLUMNS))
    y = as_float_vector(yi, data[yi])
    v = as_float_vector(vi, data[vi])
    notes: list[str] = []
    if n_missing:
        msg = (f"{n_missing} of {len(studies)} studies dropped (missing "
               f"{', '.join(k for k in setting if studies[k].isna().any())})")
        warnings.warn(msg, DataDroppedWarning, stacklevel=2)
        notes.append(msg)
    where = ", ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}"
                      for k, v in parsed.items())
    nan = float("nan")
    meta = None
    if impossible:
        pred = se = ci_low = ci_high = pi_low = pi_high = nan
        message = f"No prediction for {where}: " + "; ".join(flags) + "."
    else:
        frame = pd.DataFrame(mods) if mods else None
        meta = meta_analyze(y, v, mods=frame, method=method_c, test=test_c, level=level)
        p = meta.predict(pd.DataFrame(new) if mods else None).iloc[0]
        pred, se = float(p["pred"]), float(p["se"])
        ci_low, ci_high = float(p["ci_low"]), float(p["ci_high"])
        pi_low, pi_high = float(p["pi_low"]), float(p["pi_high"])
        pct = round(meta.level * 100)
        what = f" on {metric}" if metric else ""
        message = (f"Expected effect{what} for {where}: {pred:+.4g} ({pct}% CI [{ci_low:+.4g}, "
                   f"{ci_high:+.4g}]); on one new task of this kind it lies in "
                   f"[{pi_low:+.4g}, {pi_high:+.4g}] ({pct}% PI), from {meta.k} studies.")
        if flags:
            message += " Outside the evidence: " + "; ".join(flags) + "."
    provenance = Provenance(
        method=f"scenario/{method_c}/{test_c}", k=len(y), n_dropped=n_missing,
        dropped_reason=notes[0] if notes else None, warnings=tuple(notes),
        options={"setting": json_safe(dict(setting)), "log10": list(log10), "method": method_c,
                 "test": test_c, "level": level, "metric": metric},
        input_hash=input_hash(y, v, json_safe(pd.DataFrame(mods)).__str__() if mods else ""),
    )
    return Scenario(
        setting=parsed, metric=metric, pred=pred, se=se, ci_low=ci_low, ci_high=ci_high,
        pi_low=pi_low, pi_high=pi_high, k=len(y),
        moderators=tuple(c for c in mods), extrapolation=bool(flags), message=message,
        evidence=evidence, meta=meta, method=method_c, test=test_c,
        level=meta.level if meta is not None else check_level(level),
        provenance=provenance,
    )
