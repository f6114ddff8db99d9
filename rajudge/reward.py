"""RL rewards from the judge: a function with the signature TRL's GRPO trainer calls.

    reward = reward_function("concise", model="RewardAnything-8B-v1-Q4_K_M")
    reward(prompts=["2 + 2?", "2 + 2?"], completions=["4", "Let me think. 2 + 2 = 4."])

The completions of one prompt in a call (a GRPO group) are judged together, listwise, as one
item: that is how RewardAnything was trained to compare responses, and the system prompt,
principle and prompt are read once per group instead of once per completion. A group that does
not fit the context is split in halves until it does. The reward is the expected score under
the principle (the weighted composite for several), so two completions that get the same 1-5
score are still told apart by the judge's confidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any, Literal, get_args

import orjson

from rajudge.errors import ContextOverflowError, InputError, UsageError
from rajudge.judge import Judge, PrincipleSpec, make_item, resolve_principles
from rajudge.records import Principle

Scale = Literal["unit", "score"]
RewardFunction = Callable[..., list[float]]

REFERENCE = "reference"  # the reference response's name in the judged list
PRINCIPLE_COLUMN = "principle"  # read per sample when no principle is given


def reward_function(
    principle: PrincipleSpec | None,
    *,
    judge: Judge | None = None,
    model: str | PathLike[str] | None = None,
    reference: str | None = None,
    scale: Scale = "unit",
    **settings: Any,
) -> RewardFunction:
    """A reward function `f(prompts, completions, **columns) -> list[float]` for GRPO.

    principle: what to reward, as for Judge.judge; None reads each sample's `principle` column.
    judge: a loaded Judge to share; without one, a Judge is loaded from `model` and the engine
        `settings`, with no rationale unless asked (a reward needs only the scores).
    reference: the name of the dataset column holding a reference response per sample (TRL
        passes extra dataset columns to reward functions). The reference is judged in the same
        list as the group's completions and the reward is expected(completion) minus
        expected(reference).
    scale: "unit" maps the expected score from 1..5 onto 0..1 (a difference onto -1..1);
        "score" keeps the judge's scale (1..5, a difference -4..4).

    Prompts and completions may be text or TRL's conversational format (lists of
    {"role", "content"} messages; a completion's text is its last assistant message, or its
    last message when they carry no role).
    """
    chosen = _checked(principle, scale, judge is not None and (model is not None or bool(settings)))
    shared = judge or Judge(model, **{"rationale_tokens": 0, **settings})

    def reward(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float]:
        count = len(completions)
        if len(prompts) != count:
            raise UsageError(f"got {len(prompts)} prompts for {count} completions")
        asked = [_prompt_text(p, f"prompts[{i}]") for i, p in enumerate(prompts)]
        texts = [_response_text(c, f"completions[{i}]") for i, c in enumerate(completions)]
        refs: list[str | None] = [None] * count
        if reference is not None:
            column = _column(columns, reference, count)
            refs = [_response_text(r, f"{reference}[{i}]") for i, r in enumerate(column)]
        judged_by = [chosen] * count if chosen else _own_principles(columns, count)

        rewards: dict[int, float] = {}
        for key, members in _same_prompt(asked, judged_by, refs).items():
            first = members[0]
            group = _Group(
                judge=shared,
                prompt=asked[first],
                principles=judged_by[first],
                reference=refs[first],
                item_id="group-" + hashlib.sha256(key).hexdigest()[:12],
                scale=scale,
            )
            rewards.update(group.rewards({i: texts[i] for i in members}))
        return [rewards[i] for i in range(count)]

    names = [p.name for p in chosen] if chosen else [PRINCIPLE_COLUMN]
    reward.__name__ = "rajudge_" + "_".join(names)  # TRL logs each reward under this name
    return reward


def _checked(
    principle: PrincipleSpec | None, scale: str, judge_and_model: bool
) -> list[Principle] | None:
    """The principles asked for (None: each sample's own), once the arguments make sense."""
    if scale not in get_args(Scale):
        raise UsageError(f"scale must be 'unit' or 'score', not {scale!r}")
    if judge_and_model:
        raise TypeError("give either a judge or a model and settings, not both")
    chosen = None if principle is None else resolve_principles(principle)
    if chosen == []:
        raise UsageError("no principle given")
    return chosen


def _same_prompt(
    prompts: list[str], principles: list[list[Principle]], refs: list[str | None]
) -> dict[bytes, list[int]]:
    """Sample indices by what their completions are judged against: prompt, principles, ref."""
    groups: dict[bytes, list[int]] = {}
    for i, prompt in enumerate(prompts):
        key = orjson.dumps([prompt, [p.text for p in principles[i]], refs[i]])
        groups.setdefault(key, []).append(i)
    return groups


class _Group:
    """The completions of one prompt (same principle and reference), judged listwise."""

    def __init__(
        self,
        *,
        judge: Judge,
        prompt: str,
        principles: list[Principle],
        reference: str | None,
        item_id: str,
        scale: Scale,
    ) -> None:
        self._judge = judge
        self._prompt = prompt
        self._principles = principles
        self._reference = reference
        self._item_id = item_id
        self._divisor = 4.0 if scale == "unit" else 1.0
        self._floor = 1.0 if scale == "unit" else 0.0

    def rewards(self, texts: dict[int, str]) -> dict[int, float]:
        """Reward per sample index; a list too long for the context is judged in halves."""
        indices = list(texts)
        names = {i: f"completion-{n}" for n, i in enumerate(indices, start=1)}
        responses = {names[i]: texts[i] for i in indices}
        if self._reference is not None:
            responses[REFERENCE] = self._reference
        try:
            result = self._judge.judge(
                self._prompt, responses, self._principles, item_id=self._item_id
            )
        except ContextOverflowError as exc:
            if len(indices) == 1:
                raise InputError(
                    f"completions[{indices[0]}]",
                    f"needs {exc.needed} tokens with its prompt, but the judge's context holds "
                    f"{exc.available}; raise ctx or shorten the completions",
                ) from None
            half = len(indices) // 2
            return {
                **self.rewards({i: texts[i] for i in indices[:half]}),
                **self.rewards({i: texts[i] for i in indices[half:]}),
            }
        score = result.composite
        baseline = score[REFERENCE] if self._reference is not None else self._floor
        return {i: (score[names[i]] - baseline) / self._divisor for i in indices}


def _column(columns: Mapping[str, Any], name: str, count: int) -> Sequence[Any]:
    if name not in columns:
        given = ", ".join(sorted(columns)) or "none"
        raise UsageError(
            f"no {name!r} column among the reward function's keyword arguments ({given}); "
            "TRL passes each extra dataset column by its name"
        )
    column = columns[name]
    if isinstance(column, str) or not isinstance(column, Sequence) or len(column) != count:
        raise UsageError(f"column {name!r} must be a list with one value per completion")
    return column


def _own_principles(columns: Mapping[str, Any], count: int) -> list[list[Principle]]:
    """Each sample's principle, from the dataset column TRL passes as `principle`."""
    texts = _column(columns, PRINCIPLE_COLUMN, count)
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise UsageError(f"{PRINCIPLE_COLUMN}[{i}]: expected the principle's text")
    return [[Principle(name="item", text=text, source="item")] for text in texts]


def _prompt_text(prompt: Any, where: str) -> str:
    """The prompt as the judge reads it: text, or chat messages written out as input files are."""
    return make_item({"prompt": prompt, "responses": [""]}, where).prompt


def _response_text(value: Any, what: str) -> str:
    """A response as text: a string, or the last assistant message of a conversation."""
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and all(isinstance(m, Mapping) for m in value):
        said = [m.get("content") for m in value if m.get("role", "assistant") == "assistant"]
        if said and isinstance(said[-1], str):
            return said[-1]
    raise UsageError(
        f"{what}: expected text or chat messages ending in an assistant message's text, "
        f"got {type(value).__name__}"
    )
