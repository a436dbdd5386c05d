"""Reference values for consilience.design power functions, computed with statsmodels.

Run from the repository root:  python tests/reference/statsmodels_power/generate.py
Writes statsmodels_power.json beside this script.

statsmodels' ``solve_power`` stops at brentq's xtol=1e-5, so every solved quantity is stored
twice: ``solve_power`` as returned, and ``root``: the same root of statsmodels' own ``power``
function polished with ``scipy.optimize.brentq(xtol=1e-14)`` in a bracket of +-1% around it.
"""

from __future__ import annotations

import itertools
import json
import platform
import warnings
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import optimize
from statsmodels.stats.power import NormalIndPower, TTestIndPower, TTestPower
from statsmodels.stats.proportion import proportion_effectsize

ALTS = ["two-sided", "larger", "smaller"]


def polish(f, guess: float, lo: float, hi: float) -> float | None:
    """Root of f in a bracket of +-1% around the guess (kept inside [lo, hi]); the bracket
    narrows tenfold when scipy's noncentral t returns NaN at an end point."""
    for width in (1e-2, 1e-3, 1e-4):
        a, b = max(lo, (1 - width) * guess), min(hi, (1 + width) * guess)
        if np.isfinite(f(a)) and np.isfinite(f(b)):
            return float(optimize.brentq(f, a, b, xtol=1e-14, rtol=1e-15, maxiter=500))
    return None  # statsmodels' power is NaN around this root (scipy's noncentral t lower tail)


def signed(e: float, alt: str) -> float:
    return -abs(e) if alt == "smaller" else abs(e)


def ttest_cases(cls, name: str, extra: dict) -> dict:
    engine = cls()
    powers, n_solves, e_solves = [], [], []
    for d, n, alt in itertools.product(
        [0.2, 0.5, 0.8, 1.5, -0.5], [3.0, 5.0, 10.0, 30.0, 100.0], ALTS
    ):
        for ratio in extra.get("ratios", [None]):
            kw = {} if ratio is None else {"ratio": ratio}
            nkey = "nobs1" if ratio is not None else "nobs"
            p = float(engine.power(effect_size=d, **{nkey: n}, alpha=0.05, alternative=alt, **kw))
            p = None if np.isnan(p) else p  # scipy's noncentral t lower tail is NaN for some inputs
            powers.append(
                {
                    "effect_size": d,
                    "n": n,
                    "ratio": ratio,
                    "alternative": alt,
                    "alpha": 0.05,
                    "power": p,
                }
            )
    for d, target, alt, alpha in itertools.product(
        [0.3, 0.5, 1.0, 2.0], [0.5, 0.8, 0.9], ALTS, [0.05, 0.01]
    ):
        for ratio in extra.get("ratios", [None]):
            kw = {} if ratio is None else {"ratio": ratio}
            nkey = "nobs1" if ratio is not None else "nobs"
            e = signed(d, alt)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = float(
                    engine.solve_power(
                        effect_size=e,
                        **{nkey: None},
                        alpha=alpha,
                        power=target,
                        alternative=alt,
                        **kw,
                    )
                )
            f = lambda x, e=e, nkey=nkey, alpha=alpha, alt=alt, kw=kw, target=target: (
                engine.power(effect_size=e, **{nkey: x}, alpha=alpha, alternative=alt, **kw)
                - target
            )
            lo = 2.0 if ratio is None else 3.0 / (1.0 + ratio)
            root = polish(f, raw, lo + 1e-9, 1e7)
            n_solves.append(
                {
                    "effect_size": e,
                    "power": target,
                    "ratio": ratio,
                    "alternative": alt,
                    "alpha": alpha,
                    "solve_power": raw,
                    "root": root,
                }
            )
    for n, target, alt in itertools.product([3.0, 5.0, 10.0, 50.0], [0.5, 0.8, 0.95], ALTS):
        for ratio in extra.get("ratios", [None]):
            kw = {} if ratio is None else {"ratio": ratio}
            nkey = "nobs1" if ratio is not None else "nobs"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = float(
                    engine.solve_power(
                        effect_size=None,
                        **{nkey: n},
                        alpha=0.05,
                        power=target,
                        alternative=alt,
                        **kw,
                    )
                )
            sgn = -1.0 if alt == "smaller" else 1.0
            f = lambda m, sgn=sgn, nkey=nkey, n=n, alt=alt, kw=kw, target=target: (
                engine.power(effect_size=sgn * m, **{nkey: n}, alpha=0.05, alternative=alt, **kw)
                - target
            )
            m = polish(f, abs(raw), 1e-9, 200.0)
            root = None if m is None else sgn * m
            e_solves.append(
                {
                    "n": n,
                    "power": target,
                    "ratio": ratio,
                    "alternative": alt,
                    "alpha": 0.05,
                    "solve_power": raw,
                    "root": root,
                }
            )
    return {"call": name, "power": powers, "solve_n": n_solves, "solve_effect": e_solves}


def proportions_cases() -> dict:
    engine = NormalIndPower()
    powers, n_solves, e_solves = [], [], []
    for p0, diff, n, ratio, alt in itertools.product(
        [0.5, 0.8, 0.95], [0.01, 0.03, -0.02], [100.0, 1000.0, 10000.0], [1.0, 0.5], ALTS
    ):
        h = float(proportion_effectsize(p0 + diff, p0))
        p = float(engine.power(h, n, 0.05, ratio=ratio, alternative=alt))
        powers.append(
            {
                "baseline": p0,
                "effect": diff,
                "effect_size": h,
                "n": n,
                "ratio": ratio,
                "alternative": alt,
                "power": p,
            }
        )
    for p0, diff, target, alt in itertools.product(
        [0.5, 0.8, 0.95], [0.01, 0.03], [0.8, 0.9], ALTS
    ):
        e = signed(diff, alt)
        h = float(proportion_effectsize(p0 + e, p0))
        raw = float(
            engine.solve_power(h, nobs1=None, alpha=0.05, power=target, ratio=1.0, alternative=alt)
        )
        root = polish(
            lambda x, h=h, alt=alt, target=target: (
                engine.power(h, x, 0.05, ratio=1.0, alternative=alt) - target
            ),
            raw,
            1e-6,
            1e9,
        )
        n_solves.append(
            {
                "baseline": p0,
                "effect": e,
                "effect_size": h,
                "power": target,
                "alternative": alt,
                "solve_power": raw,
                "root": root,
            }
        )
    for p0, n, target, alt in itertools.product([0.5, 0.8], [500.0, 5000.0], [0.8, 0.9], ALTS):
        raw = float(
            engine.solve_power(None, nobs1=n, alpha=0.05, power=target, ratio=1.0, alternative=alt)
        )
        sgn = -1.0 if alt == "smaller" else 1.0
        m = polish(
            lambda m, sgn=sgn, n=n, alt=alt, target=target: (
                engine.power(sgn * m, n, 0.05, ratio=1.0, alternative=alt) - target
            ),
            abs(raw),
            1e-12,
            3.0,
        )
        root = None if m is None else sgn * m
        e_solves.append(
            {
                "baseline": p0,
                "n": n,
                "power": target,
                "alternative": alt,
                "solve_power": raw,
                "root_effect_size": root,
            }
        )
    return {
        "call": "NormalIndPower with proportion_effectsize(p_candidate, p_baseline)",
        "power": powers,
        "solve_n": n_solves,
        "solve_effect": e_solves,
    }


def meta_cases() -> dict:
    z_rows, t_rows, k_rows = [], [], []
    for mu, k, seeds, alt in itertools.product(
        [0.1, 0.3], [3.0, 10.0, 30.0], [2.0, 5.0, 20.0], ALTS
    ):
        e = signed(mu, alt)
        # tau2 = 0, rho = 0, z test == fixed-effect z test with k*seeds seeds per arm, sd = 1
        p = float(NormalIndPower().power(e, k * seeds, 0.05, ratio=1.0, alternative=alt))
        z_rows.append(
            {
                "effect": e,
                "k": k,
                "seeds": seeds,
                "sd": 1.0,
                "tau2": 0.0,
                "rho": 0.0,
                "alternative": alt,
                "power": p,
            }
        )
        for tau2, rho, sd in [(0.0, 0.0, 1.0), (0.02, 0.5, 0.5), (0.1, 0.0, 2.0)]:
            es = e / np.sqrt(2 * sd**2 * (1 - rho) / seeds + tau2)
            pt = float(TTestPower().power(es, k, 0.05, alternative=alt))
            pt = None if np.isnan(pt) else pt
            t_rows.append(
                {
                    "effect": e,
                    "k": k,
                    "seeds": seeds,
                    "sd": sd,
                    "tau2": tau2,
                    "rho": rho,
                    "alternative": alt,
                    "power": pt,
                }
            )
    for mu, seeds, target, alt in itertools.product([0.2, 0.5], [3.0, 10.0], [0.8, 0.9], ALTS):
        e = signed(mu, alt)
        tau2, rho, sd = 0.02, 0.3, 1.0
        es = e / np.sqrt(2 * sd**2 * (1 - rho) / seeds + tau2)
        guess = float(
            TTestPower().solve_power(es, nobs=None, alpha=0.05, power=target, alternative=alt)
        )
        root = polish(
            lambda x, es=es, alt=alt, target=target: (
                TTestPower().power(es, x, 0.05, alternative=alt) - target
            ),
            guess,
            2.0 + 1e-9,
            1e7,
        )
        k_rows.append(
            {
                "effect": e,
                "seeds": seeds,
                "sd": sd,
                "tau2": tau2,
                "rho": rho,
                "power": target,
                "alternative": alt,
                "root_k": root,
            }
        )
    return {
        "z_tau2_0": z_rows,
        "knha": t_rows,
        "solve_k_knha": k_rows,
        "call": "z: NormalIndPower().power(effect/sd, nobs1=k*seeds); knha: TTestPower().power(effect/sqrt(v+tau2), nobs=k)",
    }


def meta_experiment_cases() -> list[dict]:
    rows = []
    for p0, diff, total, share, alt in itertools.product(
        [0.3, 0.6], [0.1, 0.2], [40.0, 200.0], [0.5, 0.3], ALTS
    ):
        e = signed(diff, alt)
        h = float(proportion_effectsize(p0 + e, p0))
        p = float(
            NormalIndPower().power(
                h, total * (1 - share), 0.05, ratio=share / (1 - share), alternative=alt
            )
        )
        rows.append(
            {
                "baseline": p0,
                "effect": e,
                "n_experiments": total,
                "allocation": share,
                "alternative": alt,
                "power": p,
            }
        )
    return rows


def main() -> None:
    out = {
        "generator": "tests/reference/statsmodels_power/generate.py",
        "note": "null marks values statsmodels returns as NaN (scipy's nct lower tail) or roots it cannot polish",
        "versions": {
            "statsmodels": statsmodels.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "ttest_ind": ttest_cases(TTestIndPower, "TTestIndPower", {"ratios": [1.0, 2.0]}),
        "ttest_paired": ttest_cases(TTestPower, "TTestPower", {}),
        "proportions": proportions_cases(),
        "meta": meta_cases(),
        "meta_experiment": {
            "call": "NormalIndPower().power(h, nobs1=n*(1-a), ratio=a/(1-a))",
            "power": meta_experiment_cases(),
        },
    }
    path = Path(__file__).with_name("statsmodels_power.json")
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
