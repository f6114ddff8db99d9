"""Counting a text's tokens cheaply (PromptTokenizer.exceeds), on several real vocabularies.

`exceeds` lets the reward server refuse an item too long for the context without tokenizing
all of it. It must never say "too long" for a text whose exact count fits, and its work must
not grow with the text.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from llama_cpp import Llama

from rajudge.engine.prompt_tokens import PromptTokenizer

REPO = Path(__file__).resolve().parents[1]
VOCABS = ["qwen2", "llama-spm", "gemma-4", "command-r"]  # byte-level BPE and SentencePiece


def _texts() -> dict[str, str]:
    rng = random.Random(0)
    readme = (REPO / "README.md").read_text()[:40_000]
    return {
        "prose as JSON": json.dumps({"prompt": readme}, ensure_ascii=False),
        "code": (REPO / "rajudge" / "serve" / "server.py").read_text()[:30_000],
        "one long word": "a" * 40_000,
        "space runs": "".join("word" + " " * rng.randint(1, 40) for _ in range(1500)),
        "CJK": "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(15_000)),
        "emoji": "😀🎉 👍🏽 test " * 1500,
    }


TEXTS = _texts()


@pytest.fixture(scope="module", params=VOCABS)
def tokenizer(request: pytest.FixtureRequest, llama_material: Path) -> PromptTokenizer:
    llm = Llama(
        str(llama_material / f"ggml-vocab-{request.param}.gguf"), vocab_only=True, verbose=False
    )
    return PromptTokenizer(llm, (llama_material / "Qwen-Qwen3-0.6B.jinja").read_text())


@pytest.mark.parametrize("name", TEXTS)
def test_a_text_that_fits_is_never_said_to_exceed(tokenizer: PromptTokenizer, name: str) -> None:
    text = TEXTS[name]
    exact = len(tokenizer.untrusted(text))
    assert not tokenizer.exceeds(text, exact)
    assert tokenizer.exceeds(text, exact * 9 // 10)  # well past the limit, it is told


def test_counting_stops_once_past_the_limit(
    tokenizer: PromptTokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[int] = []
    real = tokenizer.tokenize

    def tokenize(text: str, *, special: bool) -> list[int]:
        counted.append(len(text))
        return real(text, special=special)

    monkeypatch.setattr(tokenizer, "tokenize", tokenize)
    huge = TEXTS["prose as JSON"] * 500  # 20 MB
    assert tokenizer.exceeds(huge, 1000)
    assert sum(counted) < 20_000  # a few pieces: about 1000 tokens' worth, not 20 MB
    counted.clear()
    assert not tokenizer.exceeds("short", 1000)
    assert counted == []  # fewer bytes than the limit: no token counted at all
