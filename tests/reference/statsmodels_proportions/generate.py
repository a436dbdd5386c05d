"""Two-proportion tests and risk-difference intervals from statsmodels and scipy.

Run from the repository root:  python tests/reference/statsmodels_proportions/generate.py
Writes two_proportions.json beside this script. Arm 1 is treatment, arm 2 control.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

TABLES = [
    (11, 21, 6, 19),
    (30, 100, 20, 100),
    (45, 50, 40, 52),
    (0, 12, 3, 14),
    (7, 7, 2, 9),
    (480, 1000, 430, 1000),
]
ALTS = {
    "two-sided": ("two-sided", "two-sided"),
    "larger": ("larger", "greater"),
    "smaller": ("smaller", "less"),
}


def main() -> None:
    rows = []
    for x1, n1, x2, n2 in TABLES:
        for level in (0.95, 0.9):
            wald = confint_proportions_2indep(
                x1, n1, x2, n2, method="wald", compare="diff", alpha=1 - level
            )
            newc = confint_proportions_2indep(
                x1, n1, x2, n2, method="newcomb", compare="diff", alpha=1 - level
            )
            for alt, (sm_alt, sp_alt) in ALTS.items():
                z, pz = proportions_ztest([x1, x2], [n1, n2], alternative=sm_alt)
                fisher = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]], alternative=sp_alt)
                rows.append(
                    {
                        "count_treatment": x1,
                        "n_treatment": n1,
                        "count_control": x2,
                        "n_control": n2,
                        "level": level,
                        "alternative": alt,
                        "wald_ci": [float(wald[0]), float(wald[1])],
                        "newcombe_ci": [float(newc[0]), float(newc[1])],
                        "z_pooled": float(z),
                        "z_pooled_p_value": float(pz),
                        "fisher_odds_ratio": float(fisher.statistic),
                        "fisher_p_value": float(fisher.pvalue),
                    }
                )
    out = {
        "generator": "tests/reference/statsmodels_proportions/generate.py",
        "versions": {
            "statsmodels": statsmodels.__version__,
            "scipy": scipy.__version__,
            "python": platform.python_version(),
        },
        "call": "confint_proportions_2indep(method='wald'|'newcomb', compare='diff'); proportions_ztest; fisher_exact",
        "rows": rows,
    }
    path = Path(__file__).with_name("two_proportions.json")
    path.write_text(json.dumps(out, indent=1, allow_nan=True) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
