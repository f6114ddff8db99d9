"""bench/FIDELITY.md from a fidelity run: parse rates, agreement, time, every disagreement."""

from __future__ import annotations

import math
import re
import statistics
import textwrap
from dataclasses import dataclass

from bench.jobs import Json
from rajudge.judging.protocol import unmask
from rajudge.judging.scoring import skeleton_text

_STARTS_WITH_SCORES = re.compile(r'\s*(```(?:json)?\s*)?\{\s*"scores"\s*:')
_NEAR_TIE = 0.1  # top two probabilities closer than this: a coin flip for any reader
_HEAD = 90  # characters of a free answer quoted for a disagreement
_SKELETON_HEAD = skeleton_text(1, "", "").removesuffix("}")  # rajudge's answer up to a digit
_FOLLOWS = (
    "follows the score before it: the two answers wrote different digits there, so this score"
    " is read after different text"
)
_AFTER = "after_our_thinking"  # the reference engine's free answer after rajudge's own thinking
_COLD = "reference_cold"  # the reference again, nothing cached (bench.fidelity --cold-reference)


@dataclass(frozen=True)
class Disagreement:
    case: str
    response: str
    reference: object
    rajudge: int
    distribution: list[float]
    cause: str


def answer(row: Json, source: str = "reference") -> str | None:
    """The free answer after its thinking; None when the thinking never closed."""
    text = row[source]["parsed_text"]
    if text.startswith("<think>"):
        return text.split("</think>", 1)[1] if "</think>" in text else None
    return text


def parsed_scores(row: Json, source: str = "reference") -> dict[str, int] | None:
    """The reference parser's scores by real name, or None unless it scored every response."""
    scores = row[source]["parsed"]["scores"]
    real = {}
    for i, name in enumerate(row["order"]):
        value = scores.get(f"model-{i + 1}")
        if type(value) is not int or not 1 <= value <= 5:
            return None
        real[name] = value
    return real


def preferred(scores: dict[str, float]) -> str | None:
    top = max(scores.values())
    best = [name for name, value in scores.items() if value == top]
    return best[0] if len(best) == 1 else None


def summarize(rows: list[Json]) -> Json:
    """Every number of one mode's table, and the disagreements behind them."""
    parsed = [(row, parsed_scores(row)) for row in rows]
    parsed = [(row, scores) for row, scores in parsed if scores is not None]
    starting = [(r, s) for r, s in parsed if _starts_with_scores(r)]
    ref_times = [r["reference"]["seconds"] for r in rows]
    our_times = [r["rajudge"]["seconds"] for r in rows]
    decided = [(r, preferred(s)) for r, s in parsed if preferred(s) is not None]
    return {
        **_after_our_thinking(rows),
        **_cold_reference(rows),
        "judgments": len(rows),
        "same_messages": sum(r["same_messages"] for r in rows),
        "same_prompt_tokens": sum(r["same_prompt_tokens"] for r in rows),
        "reference_parsed": len(parsed),
        "thinking_closed": sum(answer(r) is not None for r in rows),
        "starts_with_scores": len(starting),
        "scores_agree_parsed": _agreeing(parsed),
        "scores_agree_starting": _agreeing(starting),
        "preferred_decided": len(decided),
        "preferred_agree": sum(_our_top(r) == top for r, top in decided),
        "reference_ties": len(parsed) - len(decided),
        "reference_median_s": statistics.median(ref_times),
        "rajudge_median_s": statistics.median(our_times),
        "restored": sum(r["rajudge"].get("restored_tokens", 0) > 0 for r in rows),
        "reference_total_s": sum(ref_times),
        "rajudge_total_s": sum(our_times),
        "reference_generated": sum(r["reference"]["generated_tokens"] for r in rows),
        "rajudge_generated": sum(r["rajudge"]["generated_tokens"] for r in rows),
        "disagreements": [d.__dict__ for d in _disagreements(parsed)],
        "partings": [r["reference"]["parting"] for r in rows if "parting" in r["reference"]],
    }


def _after_our_thinking(rows: list[Json]) -> Json:
    """The free answers given after rajudge's own thinking (reasoning mode) against its scores."""
    rows = [row for row in rows if _AFTER in row]
    parsed = [(row, parsed_scores(row, _AFTER)) for row in rows]
    parsed = [(row, scores) for row, scores in parsed if scores is not None]
    return {
        "after_judgments": len(rows),
        "after_parsed": len(parsed),
        "after_starts_with_scores": sum(_starts_with_scores(r, _AFTER) for r in rows),
        "after_scores_agree": _agreeing(parsed),
        "after_disagreements": [d.__dict__ for d in _disagreements(parsed, _AFTER)],
    }


def _cold_reference(rows: list[Json]) -> Json:
    """The reference against itself run cold: how often the engine's rounding alone moves a
    score, and rajudge against that second reading."""
    rows = [row for row in rows if _COLD in row]
    cold = [(row, parsed_scores(row, _COLD)) for row in rows]
    cold = [(row, scores) for row, scores in cold if scores is not None]
    both = [(row, parsed_scores(row), scores) for row, scores in cold]
    named = [(row, n, warm[n], scores[n]) for row, warm, scores in both if warm for n in scores]
    moved = []
    for row, name, warm, again in named:
        if warm != again:
            dist = ", ".join(f"{p:.2f}" for p in row["rajudge"]["distributions"][name])
            moved.append(
                f"- {row['id']} ({' then '.join(row['order'])}), `{name}`: reference {warm},"
                f" cold {again}, rajudge {row['rajudge']['scores'][name]} (P(1..5) = {dist})"
            )
    return {
        "cold_judgments": len(rows),
        "cold_self_agree": (sum(w == a for _, _, w, a in named), len(named)),
        "cold_rajudge_agree": _agreeing(cold),
        "cold_disagreements": moved,
    }


def _starts_with_scores(row: Json, source: str = "reference") -> bool:
    text = answer(row, source)
    return text is not None and _STARTS_WITH_SCORES.match(text) is not None


def _agreeing(parsed: list[tuple[Json, dict[str, int]]]) -> tuple[int, int]:
    pairs = [(s[n], r["rajudge"]["scores"][n]) for r, s in parsed for n in s]
    return sum(a == b for a, b in pairs), len(pairs)


def _our_top(row: Json) -> str:
    ours, dists = row["rajudge"]["scores"], row["rajudge"]["distributions"]
    expected = {n: sum((i + 1) * p for i, p in enumerate(dists[n])) for n in ours}
    return max(ours, key=lambda n: (ours[n], expected[n]))


def _disagreements(
    parsed: list[tuple[Json, dict[str, int]]], source: str = "reference"
) -> list[Disagreement]:
    found = []
    for row, scores in parsed:
        parted = False  # an earlier score differs: the answers part there
        for name in row["order"]:
            theirs, ours = scores[name], row["rajudge"]["scores"][name]
            if theirs != ours:
                dist = row["rajudge"]["distributions"][name]
                case = f"{row['id']} ({' then '.join(row['order'])})"
                cause = _FOLLOWS if parted else _cause(row, dist, source)
                found.append(Disagreement(case, name, theirs, ours, dist, cause))
                parted = True
    return found


def _cause(row: Json, dist: list[float], source: str) -> str:
    text = answer(row, source)
    if text is None:
        return "the free generation never closed its thinking; its JSON came from inside it"
    if not _starts_with_scores(row, source):
        return f"the free answer does not start with the score JSON: {_head(text)}"
    if source == "reference" and shared_thinking(row) is not None:
        return _parting(row)
    if not text.lstrip().startswith(_SKELETON_HEAD):  # after a thinking: "\n\n" first
        return f"the free answer lays the JSON out differently: {_head(text)}"
    top = sorted(dist, reverse=True)
    if top[0] - top[1] < _NEAR_TIE:
        return f"near tie in the model's own probabilities ({top[0]:.2f} vs {top[1]:.2f})"
    return "unexplained"


def shared_thinking(row: Json) -> int | None:
    """How many characters the two thinkings share before they part; None where they do not
    part (rajudge's thinking, which may stop at its budget, begins the reference's)."""
    if not row["reference"]["parsed_text"].startswith("<think>"):
        return None
    theirs = row["reference"]["parsed_text"][len("<think>\n") :].split("</think>", 1)[0]
    # rajudge's thinking is stored unmasked (real names), as users read it
    theirs, ours = unmask(theirs, row["order"]).strip(), row["rajudge"]["thinking"].strip()
    shared = next((i for i, (a, b) in enumerate(zip(theirs, ours, strict=False)) if a != b), None)
    if shared is None and len(ours) > len(theirs):
        return len(theirs)
    return shared


def _parting(row: Json) -> str:
    parting = row["reference"].get("parting")
    cause = "the two greedy thinkings part, so the scores follow different reasoning"
    if parting is None:
        return cause + " (bench.fidelity_ties shows where)"
    (first, p1), (second, p2) = parting["top2"]
    return (
        f"{cause}: at thinking token {parting['step']} the model's two most likely tokens, "
        f"`{first!r}` and `{second!r}`, are {parting['gap']:.3f} apart in log-probability"
        f" ({_percent(p1)} vs {_percent(p2)})"
        + ("" if parting["replay_identical"] else "; the replay did not reproduce the reference")
    )


def _percent(logprob: float) -> str:
    return f"{100 * math.exp(logprob):.1f}%"


def _head(text: str) -> str:
    return "`" + text.strip()[:_HEAD].replace("\n", "\\n").replace("`", "'") + "`"


def render(result: Json) -> str:
    modes = {mode: summarize(rows) for mode, rows in result["modes"].items()}
    lines = [
        "# Fidelity to the reference protocol",
        "",
        "Does rajudge read the verdict the model itself gives? The same pairs, each in both",
        "presentation orders, judged twice on the same GGUF and llama.cpp build: by the reference",
        "protocol (the reference package's messages, greedy free generation through",
        "llama-cpp-python's chat completion, its own parser) and by rajudge (answer skeleton,",
        "scores read from the digit probabilities). See bench/fidelity.py for the method.",
        "",
        f"- model: `{result['model']}`; run started {result['started']}",
        f"- command: `{result['command']}`",
        f"- pairs: a seeded sample of the shared sets (seed {result['settings']['seed']}),"
        " both orders each; reasoning budget"
        f" {result['settings']['budget']} tokens (rajudge's default is 384)",
        "",
        "| | " + " | ".join(modes) + " |",
        "|---|" + "---|" * len(modes),
    ]
    for label, cell in _ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(s) for s in modes.values()) + " |")
    for mode, summary in modes.items():
        lines += ["", f"## Disagreements, {mode} mode", ""]
        lines += _partings(summary["partings"], summary["judgments"])
        lines += _listed(summary["disagreements"])
        if summary["cold_judgments"]:
            lines += ["", f"## The reference against itself, {mode} mode", "", *_COLD_TEXT, ""]
            lines += summary["cold_disagreements"] or ["None: both runs wrote the same scores."]
        if summary["after_judgments"]:
            lines += ["", f"## After rajudge's own thinking, {mode} mode", "", *_AFTER_TEXT, ""]
            lines += _listed(summary["after_disagreements"])
    return "\n".join(lines) + "\n"


def _listed(disagreements: list[Json]) -> list[str]:
    if not disagreements:
        return ["None: every integer score the reference parsed equals rajudge's."]
    lines = []
    for d in disagreements:
        dist = ", ".join(f"{p:.2f}" for p in d["distribution"])
        lines.append(
            f"- {d['case']}, `{d['response']}`: reference {d['reference']}, rajudge "
            f"{d['rajudge']} (P(1..5) = {dist}). {d['cause']}"
        )
    return lines


_COLD_TEXT = textwrap.wrap(
    "Each judgment's free generation run a second time with llama-cpp-python's cache emptied"
    " first (`--cold-reference`): the same protocol, prompt and greedy decoding, only the"
    " prompt computed in other chunks, so rounded differently. Where the two runs write"
    " different scores, no reader of this engine can agree with both.",
    92,
)

_AFTER_TEXT = textwrap.wrap(
    "Where the two greedy thinkings part, the scores follow different reasoning and say nothing"
    " of how rajudge reads an answer. So each reasoning judgment is also answered freely by the"
    " reference engine (llama-cpp-python, greedy, its parser) after rajudge's own thinking,"
    " token for token: rajudge reads its scores right there, and the two must agree.",
    92,
)


def _partings(partings: list[Json], judgments: int) -> list[str]:
    """One paragraph on where greedy thinkings part, from bench.fidelity_ties."""
    if not partings:
        return []
    gaps = [p["gap"] for p in partings]
    replayed = sum(p["replay_identical"] for p in partings)
    text = (
        f"The two thinkings part in {len(partings)} of the {judgments} judgments. Replayed with"
        " top-2 log-probabilities (`python -m bench.fidelity_ties`), every parting is at a token"
        " where the model's two most likely next tokens are nearly tied: log-probability gap"
        f" median {statistics.median(gaps):.3f}, largest {max(gaps):.3f}. Greedy decoding then"
        " follows whichever the engine's rounding puts first, and the reference's prompt chunks"
        " and rajudge's shared trunk round differently. The replay reproduced the reference's"
        f" generation up to the parting in {replayed} of {len(partings)}."
    )
    return [*textwrap.wrap(text, 92), ""]


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f}%)" if whole else "-"


_ROWS = (
    ("judgments (pairs x 2 orders)", lambda s: str(s["judgments"])),
    ("identical messages", lambda s: _share(s["same_messages"], s["judgments"])),
    ("identical prompt tokens", lambda s: _share(s["same_prompt_tokens"], s["judgments"])),
    ("reference: every response parsed", lambda s: _share(s["reference_parsed"], s["judgments"])),
    ("rajudge: every response scored", lambda s: _share(s["judgments"], s["judgments"])),
    (
        "rajudge: prompt prefix restored from a saved state",
        lambda s: _share(s["restored"], s["judgments"]),
    ),
    ("free generation closed its thinking", lambda s: _share(s["thinking_closed"], s["judgments"])),
    (
        "free answer starts with the score JSON",
        lambda s: _share(s["starts_with_scores"], s["judgments"]),
    ),
    ("integer scores agree, all parsed", lambda s: _share(*s["scores_agree_parsed"])),
    (
        "integer scores agree, answer starts with JSON",
        lambda s: _share(*s["scores_agree_starting"]),
    ),
    (
        "same preferred response (reference not tied)",
        lambda s: _share(s["preferred_agree"], s["preferred_decided"]),
    ),
    ("reference ties (no preferred response)", lambda s: str(s["reference_ties"])),
    (
        "free answer after rajudge's own thinking starts with JSON",
        lambda s: _share(s["after_starts_with_scores"], s["after_judgments"]),
    ),
    (
        "integer scores agree, after rajudge's own thinking",
        lambda s: _share(*s["after_scores_agree"]),
    ),
    (
        "reference run cold (nothing cached) agrees with the reference",
        lambda s: _share(*s["cold_self_agree"]),
    ),
    ("integer scores agree, rajudge and the cold run", lambda s: _share(*s["cold_rajudge_agree"])),
    ("median s/judgment, reference", lambda s: f"{s['reference_median_s']:.2f}"),
    ("median s/judgment, rajudge", lambda s: f"{s['rajudge_median_s']:.2f}"),
    (
        "reference / rajudge, total time",
        lambda s: f"{s['reference_total_s'] / s['rajudge_total_s']:.2f}x",
    ),
    (
        "generated tokens, reference / rajudge",
        lambda s: f"{s['reference_generated']} / {s['rajudge_generated']}",
    ),
)
