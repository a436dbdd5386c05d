"""Bundled example data, read with :func:`load_example`.

- ``bcg``: 13 trials of the BCG vaccine against tuberculosis (Colditz et al., 1994, JAMA 271:698),
  as distributed in R's metadat package (``dat.bcg``): 2x2 counts per trial (``tpos``, ``tneg``
  vaccinated; ``cpos``, ``cneg`` controls), absolute latitude ``ablat``, allocation ``alloc``.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from consilience.errors import InputError

__all__ = ["load_example", "EXAMPLES"]

EXAMPLES = {"bcg": "bcg.csv"}


def load_example(name: str) -> pd.DataFrame:
    """Return a bundled example data set as a DataFrame (see the module docstring)."""
    if name not in EXAMPLES:
        raise InputError(f"unknown example {name!r}; available: {sorted(EXAMPLES)}.")
    with resources.files("consilience.data").joinpath(EXAMPLES[name]).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)
