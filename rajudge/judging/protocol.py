"""The RewardAnything framing: system prompt, user JSON, name masking. Pure functions.

The system prompt is reproduced verbatim from the reference package `rewardanything` 1.0.1
(processing.py, Apache-2.0, Yu et al., arXiv 2506.03637): the trained judge saw exactly this
text, and any rewording costs accuracy.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence

from rajudge.records import Item

# Bump when the judge's prompt changes (text or tokens), or what a judgment's text says, so
# cached results and resumed records made before are not reused.
# 2: the system prompt is tokenized with the template text, and the answer skeleton is laid
#    out as the system prompt's example, both as in the reference protocol's free generation.
# 3: rationales and thinking name responses by their real names, not the masked ones.
# 4: reasoning mode keeps the model's own close of its thinking, so its scores follow other text.
PROTOCOL_VERSION = 4

SYSTEM_PROMPT = """
You are an evaluator judging model responses based on a given **evaluation principle**. Your primary goal is to assess how well each response for the prompt adheres to the principle, placing this above typical general preferences, though you should not endorse harmful content.

Your task:
1. Read the principle, prompt, and all responses carefully and consider how each response aligns with the principle, **briefly in a concise thinking process**
2. Score each response from 1-5:
   - 5: Perfect adherence + excellent quality
   - 4: Strong adherence with minor limitations
   - 3: Basic adherence
   - 2: Partial adherence with key omissions
   - 1: Poor adherence or contradicts principle
3. Sort responses from best to worst (distinguish between same scores)

Use the scoring scale accurately based on merit - don't compress scores if responses show significant quality differences. If responses vary substantially in quality, utilize the full range (1-5) to reflect these differences.

Output ONLY this JSON format:
{
  "scores": {"model-1": 2, "model-2": 4, ...},
  "best-to-worst": ["model-2", "model-1", ...]
}
"""  # noqa: E501  (verbatim)


def masked_name(index: int) -> str:
    """The name the judge sees for the response at 0-based masked position `index`."""
    return f"model-{index + 1}"


# A masked name as a whole word: `model-12` is never read as `model-1`, `xmodel-1` is no name.
_MASKED_NAME = re.compile(r"(?<![\w-])model-([1-9][0-9]*)(?![\w-])", re.IGNORECASE)


def unmask(text: str, order: Sequence[str]) -> str:
    """`text` with every masked name (`model-1`...) replaced by the real name it stands for.

    The judge writes its rationale and thinking about masked names, which the user never sees.
    All names are replaced in one pass, so a response really called `model-2` but shown as
    `model-1` is never renamed twice; numbers beyond the responses are left as written.
    """

    def real(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return order[index] if index < len(order) else match.group(0)

    return _MASKED_NAME.sub(real, text)


def masked_order(item: Item, seed: int) -> list[str]:
    """Real response names in the order the judge sees them (model-1 first).

    The shuffle depends only on the seed and the item's id and response names (not their input
    order), never on global random state, so an item is presented identically wherever and
    whenever it is judged.
    """
    names = sorted(item.responses)
    key = json.dumps([seed, item.id, names], ensure_ascii=False).encode()
    rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    rng.shuffle(names)
    return names


def presentation_orders(item: Item, seed: int, count: int) -> list[tuple[str, ...]]:
    """Up to `count` orders to show the responses in, balanced over positions.

    Cyclic shifts of the seeded order, spread evenly: with `count` equal to the number of
    responses every response sits in every position once (for a pair, 2 is both orders); with
    fewer, each sits in `count` different positions. Shifts repeat past the number of
    responses, so that is the most orders there are. The first is always `masked_order`'s.
    """
    first = masked_order(item, seed)
    size = len(first)
    shown = min(count, size)
    return [tuple(first[s:] + first[:s]) for s in (k * size // shown for k in range(shown))]


def user_message(principle: str, prompt: str, masked_responses: dict[str, str]) -> str:
    """The user turn: the JSON text of principle, prompt and masked responses."""
    return json.dumps(
        {"principle": principle, "prompt": prompt, "responses": masked_responses},
        ensure_ascii=False,
    )


def user_message_start(principle: str) -> str:
    """How every user message under `principle` starts: up to the prompt's key, no item text."""
    start, key, _ = user_message(principle, "", {}).partition(', "prompt":')
    return start + key


def judge_messages(principle: str, item: Item, order: list[str]) -> list[dict[str, str]]:
    """System and user messages for judging `item`, responses presented in `order`."""
    masked = {masked_name(i): item.responses[name] for i, name in enumerate(order)}
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_message(principle, item.prompt, masked)},
    ]
