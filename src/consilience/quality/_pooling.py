"""The pooling options shared by the quality analyses (synthesis, trade-offs, scenarios)."""

from __future__ import annotations

from typing import Literal, cast

from consilience._validation import check_choice

__all__ = ["METHODS", "Method", "Test", "check_pooling"]

Method = Literal["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]
Test = Literal["z", "knha"]
METHODS: tuple[str, ...] = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")


def check_pooling(method: str, test: str) -> tuple[Method, Test]:
    """``method`` (``FE`` and ``CE`` read as ``EE``) and ``test``, checked and normalised."""
    method_c = check_choice("method", method, METHODS, aliases={"FE": "EE", "CE": "EE"})
    return cast(Method, method_c), cast(Test, check_choice("test", test, ("z", "knha")))
