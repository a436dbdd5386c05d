"""meta_analyze_many equals meta_analyze group by group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience import DataDroppedWarning, SmallSampleWarning, meta_analyze, meta_analyze_many
from consilience.pooling.batch import BATCH_COLUMNS
from tests.conftest import load_reference

NAMES = ["bcg_rr", "hackshaw1998", "molloy2014_zcor", "pritz1997_plo", "raudenbush1985", "egger2001_or"]
COMPARE = ["estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "se_tau2",
           "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low", "i2_ci_high", "h2", "q", "q_p_value"]


@pytest.fixture(scope="module")
def stacked() -> pd.DataFrame:
    frames = []
    for name in NAMES:
        inp = load_reference(name)["input"]
        frames.append(pd.DataFrame({"data": name, "yi": inp["yi"], "vi": inp["vi"]}))
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=3)


@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("DL", "knha"), ("PM", "z"), ("EB", "knha"),
                                              ("SJ", "z"), ("HE", "z"), ("HS", "z"), ("ML", "z"), ("EE", "z")])
def test_batch_equals_single_fits(stacked: pd.DataFrame, method: str, test: str) -> None:
    out = meta_analyze_many(stacked, by="data", method=method, test=test)
    assert list(out.columns) == ["data", *BATCH_COLUMNS]
    assert out["data"].tolist() == sorted(NAMES)
    for row in out.itertuples(index=False):
        part = stacked[stacked["data"] == row.data].sort_index()
        single = meta_analyze(part["yi"], part["vi"], method=method, test=test).to_dict()
        for col in COMPARE:
            if single[col] is None:
                assert np.isnan(getattr(row, col))
            else:
                assert_allclose(getattr(row, col), single[col], rtol=1e-10, atol=1e-12, err_msg=f"{row.data} {col}")


def test_batch_with_two_keys_and_missing_and_single_groups() -> None:
    frame = pd.DataFrame({"a": ["x", "x", "x", "y", "y", "z"], "b": [1, 1, 1, 2, 2, 3],
                          "yi": [0.1, 0.3, np.nan, 0.2, 0.5, 0.4], "vi": [0.01, 0.02, 0.03, 0.02, 0.01, 0.05]})
    with pytest.warns(DataDroppedWarning, match="1 of 6 rows dropped"), pytest.warns(SmallSampleWarning, match="1 group"):
        out = meta_analyze_many(frame, by=["a", "b"])
    assert out["k"].tolist() == [2, 2, 1]
    assert out["n_dropped"].tolist() == [1, 0, 0]
    last = out.iloc[2]
    assert last["tau2"] == 0 and last["estimate"] == pytest.approx(0.4)
    assert np.isnan(last["tau2_ci_low"])


def test_batch_names_missing_columns() -> None:
    with pytest.raises(ValueError, match=r"no column\(s\) \['effect'\]"):
        meta_analyze_many(pd.DataFrame({"g": [1], "yi": [0.1], "vi": [0.1]}), by="g", yi="effect")
