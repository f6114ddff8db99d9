"""The reference server's request and reply shapes, read into Items and written back.

`rewardanything` 1.0.1's server takes {"principle", "prompt", "responses", "mask_responses"} and
answers {"thoughts", "results": {"scores", "best-to-worst"}}; rajudge adds its full record.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rajudge.errors import InputError
from rajudge.judge import make_item
from rajudge.judging.principles import library
from rajudge.output.schema import result_record
from rajudge.records import Item, ItemResult

_DEFAULT_ID = "request"  # the shuffle then depends on the request's content only


def request_item(request: Any, where: str) -> Item:
    """The Item a reference-shaped request asks to judge, under its own principle.

    A request that is not a judgeable item raises InputError naming `where`.
    """

    def bad(message: str) -> InputError:
        return InputError(where, message)

    if not isinstance(request, dict):
        raise bad("a request is a JSON object with principle, prompt and responses")
    for key in ("principle", "prompt", "responses"):
        if key not in request:
            raise bad(f"missing {key!r}")
    principle = request["principle"]
    if not isinstance(principle, str) or not principle.strip():
        raise bad("'principle' must be non-empty text")
    if not isinstance(request.get("mask_responses", True), bool):
        raise bad("'mask_responses' must be true or false")
    record = {
        "id": request.get("id", _DEFAULT_ID),
        "prompt": request["prompt"],
        "responses": request["responses"],
        "principle": principle,
    }
    try:
        item = make_item(record, where)
    except InputError as exc:
        raise bad(exc.message) from None
    shipped = library().get(principle)
    return replace(item, principle=shipped) if shipped else item


def reply_to(result: ItemResult) -> dict[str, Any]:
    """The reference server's reply, with rajudge's record alongside."""
    (judgment,) = result.judgments
    scores = {score.name: score.score for score in judgment.responses}
    return {
        "thoughts": judgment.rationale,
        "results": {
            "scores": {name: scores[name] for name in result.item.responses},
            "best-to-worst": list(result.ranking),
        },
        "record": result_record(result),
    }
