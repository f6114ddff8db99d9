"""Judge prompts as tokens: control tokens only where the chat template puts them."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import TYPE_CHECKING

from rajudge.engine.chat import THINK_CLOSE, THINK_OPEN, ChatTemplate

if TYPE_CHECKING:
    from llama_cpp import Llama

_USER_DEFINED = 1 << 4  # enum llama_token_attr: LLAMA_TOKEN_ATTR_USER_DEFINED
_TAG = re.compile(r"<[^<>\s]+>|\[[^\[\]\s]+\]")  # how template markers look: <think>, [INST]
# Counting a long text: pieces of about _PIECE characters, cut at a space between two words
# (where pre-tokenizers split anyway) when one is near; each cut may add a few tokens that the
# whole text would not have, so every piece's count is lowered by _CUT_SLACK.
_PIECE = 4096
_CUT_SLACK = 8
_WORD_GAP = re.compile(r"(?<=\w) (?=\w)")


class PromptTokenizer:
    """Tokens of judge prompts in one vocabulary: control tokens only where the template puts them.

    Template text is tokenized with special tokens parsed; untrusted text (every message
    content) with them disabled. llama.cpp still matches USER_DEFINED added tokens in untrusted
    text, and some of those are structure: Qwen3's `<think>` and `</think>`, Gemma 4's
    `<|channel>`. So each occurrence of a marker the template writes (or rajudge's own
    `<think>`) is cut after its first character and the pieces are tokenized apart: the model
    reads the same characters, never the marker token. Works on vocabulary-only models too.
    """

    def __init__(self, llm: Llama, template: str) -> None:
        self._llm = llm
        self.template = ChatTemplate(
            template,
            bos_token=self.piece(llm.token_bos()),
            eos_token=self.piece(llm.token_eos()),
        )
        rendered = [
            segment.text
            for thinking in (False, True)
            for segment in self.template.render("", "", thinking=thinking)
            if segment.trusted
        ]
        self.markers = self._markers(" ".join([template, *rendered, THINK_OPEN, THINK_CLOSE]))
        alternatives = "|".join(re.escape(m) for m in sorted(self.markers.values(), key=len))
        self._marker_at = re.compile(f"(?=({alternatives}))") if self.markers else None

    def prompt(self, system: str, user: str, *, thinking: bool) -> list[int]:
        """The whole prompt, ending where the assistant's answer begins."""
        tokens: list[int] = []
        for segment in self.template.render(system, user, thinking=thinking):
            if segment.trusted:
                tokens += self.tokenize(segment.text, special=True)
            else:
                tokens += self.untrusted(segment.text)
        return self._with_bos(tokens)

    def start(self, system: str, user_start: str, *, thinking: bool) -> list[int]:
        """The tokens of every prompt whose user message begins with `user_start`: the template
        and `system` before the user message, then `user_start` as untrusted text.

        A prefix of prompt()'s tokens unless tokenizing the whole user message joins characters
        across the end of `user_start`; callers check.
        """
        tokens: list[int] = []
        for segment in self.template.render(system, "", thinking=thinking):
            if not segment.trusted:
                break
            tokens += self.tokenize(segment.text, special=True)
        if user_start:
            tokens += self.untrusted(user_start)
        return self._with_bos(tokens)

    def _with_bos(self, tokens: list[int]) -> list[int]:
        bos = self._llm.token_bos()
        if self._llm._model.add_bos_token() and bos >= 0 and tokens[:1] != [bos]:
            tokens.insert(0, bos)
        return tokens

    def untrusted(self, text: str) -> list[int]:
        """Tokens of `text` in which neither a control token nor a template marker can occur."""
        if self._marker_at is None or self._marker_at.search(text) is None:
            return self.tokenize(text, special=False)
        cuts = sorted({hit.start() + 1 for hit in self._marker_at.finditer(text)})
        pieces = [text[start:end] for start, end in pairwise([0, *cuts, len(text)])]
        return [token for piece in pieces for token in self.tokenize(piece, special=False)]

    def exceeds(self, text: str, limit: int) -> bool:
        """Whether untrusted `text` surely takes more than `limit` tokens, told cheaply.

        A token covers at least one byte, so a short text is not counted at all; a longer one
        is counted piece by piece and counting stops once past `limit`, so the work is about
        `limit` tokens' worth whatever the text's size. False is no promise that it fits.
        """
        if len(text.encode("utf-8")) < limit:
            return False
        counted = start = 0
        while start < len(text):
            gap = _WORD_GAP.search(text, start + _PIECE, start + _PIECE + 256)
            end = gap.start() if gap else start + _PIECE
            counted += len(self.untrusted(text[start:end])) - _CUT_SLACK
            if counted > limit:
                return True
            start = end
        return False

    def tokenize(self, text: str, *, special: bool) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def piece(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", "ignore")

    def _markers(self, source: str) -> dict[int, str]:
        """Tag-shaped USER_DEFINED tokens in `source`, found by llama.cpp's own matcher.

        Whitespace runs and HTML tags that some vocabularies add (Gemma's) are ordinary text
        unless the template writes them, so only what the template text holds counts.
        """
        import llama_cpp

        vocab = self._llm._model.vocab
        found = {}
        for token in set(self.tokenize(source, special=False)):
            if llama_cpp.llama_vocab_get_attr(vocab, token) & _USER_DEFINED:
                text = self.piece(token)
                if _TAG.fullmatch(text):
                    found[token] = text
        return found
