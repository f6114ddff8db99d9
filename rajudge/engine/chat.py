"""Render a model's own chat template around the judge messages, keeping untrusted text apart.

The template (from GGUF metadata) is rendered with placeholders instead of the message
contents. The result is a list of segments: trusted text, whose special tokens are real
(`<|im_start|>`, `<start_of_turn>`), and the user message, which holds the item's text and must
be tokenized with special tokens disabled so a response containing `<|im_end|>` cannot close
its own turn. The system message is rajudge's own constant instructions, so it joins the
template text: tokenized as one run with it, its first newline merges with the template's as
it does when llama.cpp tokenizes the whole rendered chat (the reference protocol's tokens).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rajudge.errors import ModelError

_SYSTEM = "\ue000rajudge-system\ue000"
_USER = "\ue000rajudge-user\ue000"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class Segment:
    text: str
    trusted: bool  # True: template text, special tokens parsed; False: untrusted content


class ChatTemplate:
    """One model's chat template, rendered for a system + user exchange."""

    def __init__(self, source: str, *, bos_token: str, eos_token: str) -> None:
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        env.globals["raise_exception"] = _raise_template_error
        env.globals["strftime_now"] = lambda fmt: datetime.datetime.now().strftime(fmt)
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateError as exc:
            raise ModelError(f"the model's chat template does not parse: {exc}") from exc
        self._bos_token = bos_token
        self._eos_token = eos_token
        self.supports_thinking = "enable_thinking" in source
        self.has_system_role = self._try_render(with_system=True, thinking=False) is not None

    def render(self, system: str, user: str, *, thinking: bool) -> list[Segment]:
        """Segments of the full prompt, ending where the assistant's answer begins.

        `system` is trusted (rajudge's instructions); `user` is the one untrusted segment.

        In thinking mode the prompt ends inside an open `<think>` block; otherwise any
        `<think>` block the template opens is closed, so the answer comes next.
        """
        text = self._try_render(with_system=self.has_system_role, thinking=thinking)
        if text is None:
            raise ModelError("the model's chat template cannot render a system + user exchange")
        if not self.has_system_role:
            # Templates without a system role (Gemma) get the instructions at the top of the
            # user turn, as such templates do themselves when they accept a system message.
            text = text.replace(_USER, f"{_SYSTEM}\n\n{_USER}", 1)
        text = _steer_thinking(text, thinking).replace(_SYSTEM, system, 1)
        return _split(text, _USER, user)

    def _try_render(self, *, with_system: bool, thinking: bool) -> str | None:
        messages = [{"role": "user", "content": _USER}]
        if with_system:
            messages.insert(0, {"role": "system", "content": _SYSTEM})
        try:
            return self._template.render(
                messages=messages,
                add_generation_prompt=True,
                enable_thinking=thinking,
                bos_token=self._bos_token,
                eos_token=self._eos_token,
            )
        except jinja2.TemplateError:
            return None


def _raise_template_error(message: str) -> None:
    raise jinja2.TemplateError(message)


def _steer_thinking(text: str, thinking: bool) -> str:
    """Open or close the reasoning block at the end of the generation prompt."""
    tail = text.rstrip()
    opened = tail.endswith(THINK_OPEN)
    closed = tail.endswith(THINK_CLOSE)
    if thinking and not opened:
        if closed:  # the template closed an empty block (thinking disabled in the template)
            text = text[: text.rstrip().rfind(THINK_OPEN)]
        return f"{text}{THINK_OPEN}\n"
    if not thinking and opened:
        return f"{text}\n\n{THINK_CLOSE}\n\n"
    return text


def _split(text: str, placeholder: str, content: str) -> list[Segment]:
    before, _, after = text.partition(placeholder)
    segments = [Segment(before, trusted=True), Segment(content, trusted=False)]
    if after:
        segments.append(Segment(after, trusted=True))
    return [segment for segment in segments if segment.text or not segment.trusted]
