"""Exact power of the conditional McNemar test by enumerating every table, with statsmodels.

Run from the repository root:  python tests/reference/statsmodels_mcnemar/generate.py
Writes mcnemar_exact_power.json beside this script.

For a test set of n examples, the discordant count m ~ Binomial(n, discordance) and the
candidate-only count x | m ~ Binomial(m, p01 / discordance). Power sums the probability of every
(m, x) whose p-value is <= alpha: two-sided p from statsmodels ``mcnemar(table, exact=True)``,
one-sided p from scipy ``binomtest(x, m, 0.5, alternative=...)``.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

ALPHA = 0.05


def rejects(n: int, alternative: str) -> list[np.ndarray]:
    out = []
    for m in range(n + 1):
        r = np.zeros(m + 1, dtype=bool)
        for x in range(m + 1):
            if m == 0:
                continue
            if alternative == "two-sided":
                p = mcnemar(np.array([[0, m - x], [x, 0]]), exact=True).pvalue
            else:
                p = stats.binomtest(
                    x, m, 0.5, alternative="greater" if alternative == "larger" else "less"
                ).pvalue
            r[x] = p <= ALPHA
        out.append(r)
    return out


def main() -> None:
    rows = []
    for n in (10, 37, 80):
        for alternative in ("two-sided", "larger", "smaller"):
            region = rejects(n, alternative)
            for psi, delta in ((0.3, 0.1), (0.5, 0.25), (0.12, -0.06), (0.8, 0.05)):
                pi = (psi + delta) / (2 * psi)
                power = 0.0
                for m in range(n + 1):
                    x = np.arange(m + 1)
                    power += stats.binom.pmf(m, n, psi) * float(
                        np.sum(stats.binom.pmf(x, m, pi)[region[m]])
                    )
                rows.append(
                    {
                        "n": n,
                        "alternative": alternative,
                        "discordance": psi,
                        "effect": delta,
                        "alpha": ALPHA,
                        "power": power,
                    }
                )
    out = {
        "generator": "tests/reference/statsmodels_mcnemar/generate.py",
        "versions": {
            "statsmodels": statsmodels.__version__,
            "scipy": scipy.__version__,
            "python": platform.python_version(),
        },
        "call": "mcnemar([[0, m-x], [x, 0]], exact=True).pvalue <= alpha (two-sided); binomtest (one-sided)",
        "rows": rows,
    }
    path = Path(__file__).with_name("mcnemar_exact_power.json")
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
