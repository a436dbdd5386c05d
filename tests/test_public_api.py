"""The public names re-exported by the package and the README's Python example."""

from __future__ import annotations

import consilience as cs


def test_all_names_resolve() -> None:
    for name in cs.__all__:
        assert getattr(cs, name) is not None, name
    for name in ("effect_sizes", "meta_analyze", "meta_analyze_many", "subgroup_analysis", "MetaAnalysis", "InputError"):
        assert name in cs.__all__


def test_readme_python_example_runs() -> None:
    trials = cs.load_example("bcg")
    dat = cs.effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=trials)
    res = cs.meta_analyze("yi", "vi", data=dat, method="REML", test="knha", labels="trial")
    assert repr(res) == "<MetaResult REML/knha k=13 estimate=-0.7145 [-1.108, -0.3206] tau2=0.3132>"
    assert res.studies()["study"].iloc[0] == "Aronson (1948)"
    reg = cs.meta_analyze("yi", "vi", data=dat, mods=["ablat", "alloc"])
    assert [c.name for c in reg.coefficients] == ["intercept", "ablat", "alloc[random]", "alloc[systematic]"]
    sub = cs.subgroup_analysis(dat["yi"], dat["vi"], dat["alloc"])
    assert sub.table["subgroup"].tolist() == ["alternate", "random", "systematic"]
