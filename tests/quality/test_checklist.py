"""The checklist: items, judgements, the overall rule, and the layering of the quality core."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import consilience
from consilience import quality
from consilience.errors import InputError
from consilience.quality import (
    ITEMS,
    JUDGEMENTS,
    ItemJudgement,
    RiskOfBias,
    check_item,
    check_judgement,
    overall_judgement,
    parse_answers,
)

SRC = Path(consilience.__file__).parent


def test_the_quality_core_imports_neither_the_registry_nor_a_database() -> None:
    checked = 0
    for path in (SRC / "quality").rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        bad = {n for n in names if n.startswith(("consilience.registry", "consilience.cli",
                                                 "sqlalchemy", "alembic"))}
        assert not bad, f"{path.name} imports {sorted(bad)}"
        checked += 1
    assert checked >= 6


def test_quality_exports_are_listed_once_and_exist() -> None:
    assert len(quality.__all__) == len(set(quality.__all__))
    for name in quality.__all__:
        assert hasattr(quality, name), name


def test_items_and_judgements_are_the_documented_ones() -> None:
    assert ITEMS == ("seeds_randomised", "equal_tuning_budget", "test_set_untouched",
                     "no_leakage", "eval_size_adequate", "preregistered", "reported")
    assert JUDGEMENTS == ("low", "some concerns", "high", "unknown")
    doc = (Path(__file__).parents[2] / "docs" / "risk_of_bias.md").read_text(encoding="utf-8")
    for item in ITEMS:
        assert f"`{item}`" in doc


@pytest.mark.parametrize(
    "given, overall",
    [
        ({}, "unknown"),
        (dict.fromkeys(ITEMS, "unknown"), "unknown"),
        (dict.fromkeys(ITEMS, "low"), "low"),
        ({**dict.fromkeys(ITEMS, "low"), "reported": "unknown"}, "some concerns"),
        ({**dict.fromkeys(ITEMS, "low"), "no_leakage": "some concerns"}, "some concerns"),
        ({**dict.fromkeys(ITEMS, "low"), "no_leakage": "high"}, "high"),
        ({"preregistered": "high"}, "high"),
        ({"preregistered": "low"}, "some concerns"),
        ({"preregistered": "some concerns", "reported": "high"}, "high"),
    ],
)
def test_overall_rule_truth_table(given: dict[str, str], overall: str) -> None:
    assert overall_judgement(given) == overall
    full = [given.get(item, "unknown") for item in ITEMS]
    assert overall_judgement(full) == overall


@pytest.mark.parametrize(
    "raw, canonical",
    [("low", "low"), ("LOW", "low"), ("some_concerns", "some concerns"),
     ("Some  Concerns", "some concerns"), ("some", "some concerns"), ("high", "high"),
     ("unclear", "unknown")],
)
def test_judgements_are_normalised(raw: str, canonical: str) -> None:
    assert check_judgement(raw) == canonical


def test_bad_items_and_judgements_name_the_fix() -> None:
    with pytest.raises(InputError, match="Did you mean 'no_leakage'"):
        check_item("no_leak")
    with pytest.raises(InputError, match="must be one of"):
        check_judgement("medium", item="reported")
    with pytest.raises(TypeError, match="must be a string"):
        check_judgement(3)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="empty"):
        parse_answers({})
    with pytest.raises(InputError, match="judgement or \\(judgement, note\\)"):
        parse_answers({"reported": ("low", "n", "x")})


def test_answers_accept_plain_judgements_and_notes() -> None:
    got = parse_answers({"Reported": "low", "no-leakage": ("high", "  dedup not run "),
                         "preregistered": ("some_concerns", "")})
    assert got == {"reported": ("low", None), "no_leakage": ("high", "dedup not run"),
                   "preregistered": ("some concerns", None)}


def test_risk_of_bias_fills_missing_items_and_has_one_face() -> None:
    rob = RiskOfBias.from_items("exp", [ItemJudgement("no_leakage", "high", "dup", "manual")])
    assert [i.item for i in rob.items] == list(ITEMS)
    assert rob.overall == "high" and rob["no_leakage"].note == "dup"
    assert rob["reported"].judgement == "unknown" and rob["reported"].source == "none"
    assert repr(rob) == "<RiskOfBias 'exp' overall='high' high=1 unknown=6>"
    data = rob.to_dict()
    assert set(data) == {"experiment", "overall", "rule", "items"}
    assert data["items"][3]["judgement"] == "high"
    assert list(rob.to_frame().columns) == ["item", "question", "judgement", "note", "source",
                                            "assessed_by", "assessed_at"]
    assert "overall : high" in str(rob.summary())
