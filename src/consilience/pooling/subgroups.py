"""Subgroup analysis: one pooled estimate per level and the test for subgroup differences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import as_float_vector
from consilience.errors import InputError
from consilience.pooling.batch import meta_analyze_many
from consilience.pooling.model import Method, TestKind

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["SubgroupResult", "subgroup_analysis"]


@dataclass(frozen=True, repr=False)
class SubgroupResult:
    """Result of :func:`subgroup_analysis`.

    Attributes
    ----------
    table : DataFrame
        One row per level: ``subgroup`` and the columns of :func:`meta_analyze_many`.
    q_between, q_between_df, q_between_p_value : float, int, float
        Wald-type test that the subgroup estimates are equal (chi² with levels - 1 df).
    method, test, level : the options used.
    provenance : how it was made.
    """

    table: pd.DataFrame
    q_between: float
    q_between_df: int
    q_between_p_value: float
    method: str
    test: str
    level: float
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        return (f"<SubgroupResult {self.method} levels={len(self.table)} q_between={self.q_between:.4g} "
                f"p={self.q_between_p_value:.3g}>")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"subgroups": json_safe(self.table), "q_between": json_safe(self.q_between),
                "q_between_df": self.q_between_df, "q_between_p_value": json_safe(self.q_between_p_value),
                "method": self.method, "test": self.test, "level": self.level,
                "provenance": self.provenance.to_dict()}

    def summary(self) -> Summary:
        cols = ["subgroup", "k", "estimate", "se", "ci_low", "ci_high", "tau2", "i2", "p_value"]
        return Summary(
            title="Subgroup analysis",
            lines=[("model", f"{self.method}, test={self.test}"),
                   ("test of differences", (f"Q = {self.q_between:.4f}, df = {self.q_between_df}, "
                                            f"p = {self.q_between_p_value:.4g}"))],
            tables=[("subgroups", self.table[cols])],
        )

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Subgroup forest plot; ``options`` are the keywords of
        :func:`consilience.report.plots.subgroup_forest_plot` (overall, groups, exponentiate,
        xlim, refline, effect_label, xlabel, label_header, digits)."""
        from consilience.report.plots import subgroup_forest_plot

        return subgroup_forest_plot(self, ax, **options)


def subgroup_analysis(yi: Any, vi: Any, groups: Any, *, method: Method = "REML", test: TestKind = "z",
                      level: float = 95) -> SubgroupResult:
    """Separate random-effects fits per subgroup, and the test for subgroup differences.

    Notes
    -----
    Each level gets its own tau² (fitted in one batched call). The test for differences is the
    equal-effects meta-regression of the subgroup estimates on the subgroup factor::

        Q_between = sum_g w_g (b_g - b_w)²,  w_g = 1/se_g²,  b_w = sum w_g b_g / sum w_g

    with chi²(G - 1) p-value, as ``rma(b, sei=se, mods=~factor(g), method="FE")`` computes it.
    For a model with one common tau², use ``meta_analyze(..., mods=groups)`` (its ``qm``).

    Validated against: metafor 3.8-1, separate ``rma(subset=)`` fits and the FE meta-regression of
    their estimates (tests/reference/metafor_extra).
    """
    y = as_float_vector("yi", yi)
    v = as_float_vector("vi", vi)
    g = pd.Series(np.asarray(groups, dtype=object) if not isinstance(groups, pd.Series) else groups.to_numpy())
    if len(g) != y.size or v.size != y.size:
        raise InputError(f"'yi', 'vi' and 'groups' must have equal lengths; got {y.size}, {v.size} and {len(g)}. "
                         f"Pass one sampling variance and one subgroup label per effect.")
    frame = pd.DataFrame({"subgroup": g.astype(str).where(g.notna(), None), "yi": y, "vi": v})
    if frame["subgroup"].isna().any():
        bad = np.flatnonzero(frame["subgroup"].isna().to_numpy())
        raise InputError(f"'groups' has missing values at rows {bad[:5].tolist()}. Give every study a subgroup.")
    if frame["subgroup"].nunique() < 2:
        raise InputError(f"'groups' has a single level {frame['subgroup'].iloc[0]!r}; a subgroup analysis needs at least "
                         f"two. Pass a grouping with two or more levels, or use meta_analyze() for one pooled estimate.")
    table = meta_analyze_many(frame, by="subgroup", method=method, test=test, level=level)
    b = table["estimate"].to_numpy()
    w = 1.0 / table["se"].to_numpy() ** 2
    ok = np.isfinite(b) & np.isfinite(w)
    bw = (w[ok] * b[ok]).sum() / w[ok].sum()
    q_b = float((w[ok] * (b[ok] - bw) ** 2).sum())
    df = int(ok.sum() - 1)
    return SubgroupResult(
        table=table, q_between=q_b, q_between_df=df, q_between_p_value=float(stats.chi2.sf(q_b, df)),
        method=str(table["method"].iloc[0]), test=str(table["test"].iloc[0]), level=float(table["level"].iloc[0]),
        provenance=Provenance(method=str(table["method"].iloc[0]), k=int(y.size),
                              options={"test": test, "level": level, "levels": table["subgroup"].tolist()},
                              input_hash=input_hash(y, v, frame["subgroup"].to_numpy().astype(str).tolist().__str__())),
    )
