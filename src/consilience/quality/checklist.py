"""The risk-of-bias checklist: seven items, four judgements and one rule for the overall verdict.

An ML comparison can be biased in ways that no amount of pooling repairs: a candidate tuned
longer than its baseline, a test set used to pick checkpoints, a leaked feature, runs that
failed and were quietly left out. The checklist asks the same seven questions of every
experiment, in the manner of Cochrane's RoB 2 tool, so that the synthesis can ask whether the
conclusion survives without the doubtful studies (:mod:`consilience.quality.synthesis`).

Each item is judged ``low``, ``some concerns``, ``high`` or ``unknown`` with a note. The overall
judgement follows :data:`OVERALL_RULE`. The full guidance is in ``docs/risk_of_bias.md``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from consilience._results import Summary, json_safe
from consilience.errors import InputError

__all__ = [
    "ITEMS",
    "ITEM_QUESTIONS",
    "JUDGEMENTS",
    "OVERALL_RULE",
    "ItemJudgement",
    "Judgement",
    "RiskOfBias",
    "check_item",
    "check_judgement",
    "overall_judgement",
    "parse_answers",
]

Judgement = Literal["low", "some concerns", "high", "unknown"]

JUDGEMENTS: tuple[str, ...] = ("low", "some concerns", "high", "unknown")
"""The four judgements, from least to most doubt (``unknown``: not judged, or not judgeable)."""

ITEMS: tuple[str, ...] = (
    "seeds_randomised",
    "equal_tuning_budget",
    "test_set_untouched",
    "no_leakage",
    "eval_size_adequate",
    "preregistered",
    "reported",
)
"""The checklist items, in the order they are shown."""

ITEM_QUESTIONS: Mapping[str, str] = {
    "seeds_randomised": "Was every source of run-to-run variation (initialisation, data order, "
    "data split, augmentation) re-drawn across seeds, with the same seeds in both arms and at "
    "least two seeds per arm and task?",
    "equal_tuning_budget": "Did the baseline and the candidate get the same hyper-parameter "
    "tuning budget (trials, GPU hours), searched on the same validation data?",
    "test_set_untouched": "Was the test set kept out of every choice (hyper-parameters, "
    "checkpoints, early stopping, the model itself) until the final evaluation?",
    "no_leakage": "Is the evaluation free of leakage: no test items (or near duplicates) in "
    "training or pre-training data, no features computed on the test data?",
    "eval_size_adequate": "Is each task's evaluation set large enough to detect the smallest "
    "effect that matters (min_effect) with 80% power at two-sided alpha 0.05?",
    "preregistered": "Was the analysis (metric, tasks, model, decision rule) locked in a "
    "protocol before the first result was seen?",
    "reported": "Is every planned run reported with its result, failures included, so that no "
    "task or seed is missing from the analysis?",
}
"""The signalling question each item answers."""

OVERALL_RULE = (
    "overall = high if any item is high; otherwise unknown if every item is unknown (not "
    "assessed); otherwise some concerns if any item is some concerns or unknown; otherwise low"
)
"""The rule from item judgements to the overall judgement (Cochrane RoB 2, with ``unknown``
counted as ``some concerns``)."""

_ALIASES = {
    "some": "some concerns",
    "some_concerns": "some concerns",
    "some-concerns": "some concerns",
    "someconcerns": "some concerns",
    "concerns": "some concerns",
    "unclear": "unknown",
    "low risk": "low",
    "high risk": "high",
}


def check_item(name: Any) -> str:
    """Return ``name`` if it is one of :data:`ITEMS`, else raise with the closest item."""
    if not isinstance(name, str):
        raise TypeError(f"A checklist item must be a string, one of {list(ITEMS)}; got {name!r}.")
    key = name.strip().lower().replace("-", "_")
    if key in ITEMS:
        return key
    close = difflib.get_close_matches(key, ITEMS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InputError(f"Unknown checklist item {name!r}; the items are {list(ITEMS)}.{hint}")


def check_judgement(value: Any, *, item: str | None = None) -> str:
    """Normalise a judgement (``some_concerns`` and ``some`` read as ``some concerns``)."""
    where = f" for item {item!r}" if item else ""
    if not isinstance(value, str):
        raise TypeError(
            f"A judgement{where} must be a string, one of {list(JUDGEMENTS)}; got {value!r}."
        )
    key = " ".join(value.strip().lower().split())
    key = _ALIASES.get(key, key)
    if key not in JUDGEMENTS:
        raise InputError(
            f"The judgement{where} must be one of {list(JUDGEMENTS)}; got {value!r}. Write e.g. "
            "'low', 'some concerns' (or some_concerns), 'high' or 'unknown'."
        )
    return key


def parse_answers(
    answers: Mapping[str, str | Sequence[str | None]],
) -> dict[str, tuple[str, str | None]]:
    """Validate ``{item: judgement}`` or ``{item: (judgement, note)}`` answers.

    Returns
    -------
    dict
        ``{item: (judgement, note)}`` with canonical item names and judgements; notes stripped
        (empty notes become None).
    """
    if not isinstance(answers, Mapping):
        raise TypeError(
            "answers must be a mapping {item: (judgement, note)}; got "
            f"{type(answers).__name__}."
        )
    if not answers:
        raise InputError(
            f"answers is empty; give at least one item of {list(ITEMS)} with its judgement."
        )
    out: dict[str, tuple[str, str | None]] = {}
    for raw_item, answer in answers.items():
        item = check_item(raw_item)
        if isinstance(answer, str):
            judgement, note = answer, None
        elif isinstance(answer, Sequence) and len(answer) in (1, 2):
            judgement = answer[0]  # type: ignore[assignment]
            note = answer[1] if len(answer) == 2 else None
        else:
            raise InputError(
                f"The answer for item {item!r} must be a judgement or (judgement, note); got "
                f"{answer!r}."
            )
        if note is not None and not isinstance(note, str):
            raise TypeError(f"The note for item {item!r} must be text; got {note!r}.")
        text = note.strip() if note else None
        out[item] = (check_judgement(judgement, item=item), text or None)
    return out


def overall_judgement(judgements: Mapping[str, str] | Iterable[str]) -> str:
    """The overall judgement of an experiment from its item judgements (:data:`OVERALL_RULE`).

    Parameters
    ----------
    judgements : mapping or iterable of str
        ``{item: judgement}`` (items not given count as ``unknown``) or the judgements of all
        seven items.

    Returns
    -------
    str
        ``low``, ``some concerns``, ``high`` or ``unknown``.

    Notes
    -----
    As in Cochrane's RoB 2 (Sterne et al., 2019): one item at high risk makes the experiment
    high risk; an experiment is low risk only when every item is low. An item that could not be
    judged (``unknown``) counts as ``some concerns``, except when nothing at all was judged: then
    the overall judgement is ``unknown`` (the experiment has not been assessed).

    References
    ----------
    Sterne, J. A. C. et al. (2019). RoB 2: a revised tool for assessing risk of bias in
    randomised trials. BMJ, 366, l4898.

    Validated against: the truth table in ``tests/quality/test_checklist.py``.
    """
    if isinstance(judgements, Mapping):
        given = {check_item(k): v for k, v in judgements.items()}
        values = [check_judgement(given.get(item, "unknown"), item=item) for item in ITEMS]
    else:
        values = [check_judgement(j) for j in judgements]
    if "high" in values:
        return "high"
    if all(v == "unknown" for v in values):
        return "unknown"
    if any(v in ("some concerns", "unknown") for v in values):
        return "some concerns"
    return "low"


@dataclass(frozen=True)
class ItemJudgement:
    """One item's judgement for one experiment.

    Attributes
    ----------
    item : str
        One of :data:`ITEMS`.
    judgement : str
        One of :data:`JUDGEMENTS`.
    note : str or None
        Why: the evidence, or the reviewer's reason.
    source : {'manual', 'auto', 'none'}
        A person's judgement, the registry's automatic one, or none (``unknown``).
    evidence : mapping
        The numbers behind an automatic judgement (JSON-safe).
    assessed_by : str or None
    assessed_at : datetime or None
    """

    item: str
    judgement: str
    note: str | None = None
    source: str = "none"
    evidence: Mapping[str, Any] = field(default_factory=dict)
    assessed_by: str | None = None
    assessed_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "judgement": self.judgement,
            "note": self.note,
            "source": self.source,
            "evidence": json_safe(dict(self.evidence)),
            "assessed_by": self.assessed_by,
            "assessed_at": None if self.assessed_at is None else self.assessed_at.isoformat(),
        }


@dataclass(frozen=True, repr=False)
class RiskOfBias:
    """The checklist of one experiment: every item's judgement and the overall one.

    Attributes
    ----------
    experiment : str
    items : tuple of ItemJudgement
        All seven items in :data:`ITEMS` order (unjudged items are ``unknown``).
    overall : str
        By :data:`OVERALL_RULE`.
    rule : str
        :data:`OVERALL_RULE`, stored with the result.
    """

    experiment: str
    items: tuple[ItemJudgement, ...]
    overall: str
    rule: str = OVERALL_RULE

    @classmethod
    def from_items(cls, experiment: str, items: Iterable[ItemJudgement]) -> RiskOfBias:
        """Complete ``items`` with ``unknown`` for the missing ones and apply the rule."""
        given = {check_item(i.item): i for i in items}
        full = tuple(given.get(item, ItemJudgement(item, "unknown")) for item in ITEMS)
        overall = overall_judgement({i.item: i.judgement for i in full})
        return cls(experiment=experiment, items=full, overall=overall)

    def __getitem__(self, item: str) -> ItemJudgement:
        key = check_item(item)
        return next(i for i in self.items if i.item == key)

    @property
    def judgements(self) -> dict[str, str]:
        """``{item: judgement}``."""
        return {i.item: i.judgement for i in self.items}

    def __repr__(self) -> str:
        counts = {j: sum(i.judgement == j for i in self.items) for j in JUDGEMENTS}
        parts = " ".join(f"{j.replace(' ', '_')}={n}" for j, n in counts.items() if n)
        return f"<RiskOfBias {self.experiment!r} overall={self.overall!r} {parts}>"

    def to_frame(self) -> pd.DataFrame:
        """One row per item: ``item, question, judgement, note, source, assessed_by,
        assessed_at``."""
        return pd.DataFrame(
            [
                {
                    "item": i.item,
                    "question": ITEM_QUESTIONS[i.item],
                    "judgement": i.judgement,
                    "note": i.note,
                    "source": i.source,
                    "assessed_by": i.assessed_by,
                    "assessed_at": i.assessed_at,
                }
                for i in self.items
            ],
            columns=[
                "item", "question", "judgement", "note", "source", "assessed_by", "assessed_at"
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``experiment, overall, rule, items`` (each item's fields)."""
        return {
            "experiment": self.experiment,
            "overall": self.overall,
            "rule": self.rule,
            "items": [i.to_dict() for i in self.items],
        }

    def summary(self) -> Summary:
        table = self.to_frame()[["item", "judgement", "source", "note"]].fillna("")
        return Summary(
            title=f"Risk of bias: {self.experiment}",
            lines=[("overall", self.overall)],
            tables=[("items", table)],
            notes=[self.rule],
        )
