"""Reference numbers for consilience.compare.ranks and multiple_testing.

Sources: autorank 1.3.0 (Friedman + Nemenyi, ``force_mode="nonparametric"``), scipy
``friedmanchisquare`` and ``wilcoxon``, statsmodels ``multipletests`` (Holm, Benjamini-Hochberg).
Run in an environment with autorank installed (the one used: autorank 1.3.0, scipy 1.17.1,
statsmodels 0.15.0, pandas 2.3.3):

    pip install autorank
    python tests/reference/autorank/make_reference.py

Writes ``reference.json`` next to this file with the input blocks (tasks x models) and the numbers.
"""

from __future__ import annotations

import contextlib
import io
import json
from importlib.metadata import version
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
from autorank import autorank
from scipy import stats
from statsmodels.stats.multitest import multipletests

OUT = Path(__file__).with_name("reference.json")


def blocks() -> pd.DataFrame:
    rs = np.random.RandomState(7)
    n_tasks, models = 30, ["m1", "m2", "m3", "m4", "m5"]
    base = rs.uniform(0.6, 0.9, size=(n_tasks, 1))
    shift = np.array([0.0, 0.01, 0.02, 0.03, 0.05])
    x = base + shift + rs.normal(0.0, 0.02, size=(n_tasks, len(models)))
    x = np.round(x, 2)  # rounding creates ties within tasks, exercising the tie correction
    return pd.DataFrame(x, columns=models, index=[f"task{i:02d}" for i in range(n_tasks)])


def analyse(data: pd.DataFrame, order: str) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):  # autorank prints its rank table
        res = autorank(data, alpha=0.05, order=order, force_mode="nonparametric", approach="frequentist")
    fr = stats.friedmanchisquare(*data.T.values)
    sign = 1.0 if order == "descending" else -1.0
    pairs, p_values, statistics = [], [], []
    for a, b in combinations(data.columns, 2):
        w = stats.wilcoxon(sign * (data[a] - data[b]))
        pairs.append([a, b])
        p_values.append(float(w.pvalue))
        statistics.append(float(w.statistic))
    holm = multipletests(p_values, method="holm")[1]
    return {
        "order": order,
        "autorank": {"omnibus": res.omnibus, "posthoc": res.posthoc, "pvalue": float(res.pvalue),
                     "cd": float(res.cd), "meanrank": {k: float(v) for k, v in res.rankdf["meanrank"].items()}},
        "friedman": {"statistic": float(fr.statistic), "p_value": float(fr.pvalue)},
        "wilcoxon": {"pairs": pairs, "statistic": statistics, "p_value": p_values, "p_holm": holm.tolist()},
    }


def main() -> None:
    data = blocks()
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.049, 0.0001, 0.9, 0.03])
    out = {
        "source": f"autorank {version('autorank')}, scipy {scipy.__version__}, statsmodels {version('statsmodels')}",
        "blocks": {"tasks": list(data.index), "models": list(data.columns), "values": data.to_numpy().tolist()},
        "higher_is_better": analyse(data, "descending"),
        "lower_is_better": analyse(data, "ascending"),
        "multipletests": {"p": p.tolist(), "holm": multipletests(p, method="holm")[1].tolist(),
                          "fdr_bh": multipletests(p, method="fdr_bh")[1].tolist()},
        # Demsar (2006), Table 5(a): q_0.05 = studentized range(0.95, k, inf) / sqrt(2), k = 2..10.
        "demsar_q05": [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164],
    }
    OUT.write_text(json.dumps(out, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
