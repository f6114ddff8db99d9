"""The reference package's own framing and parser, run in bench/.venv-ref for the fidelity check.

`python -m bench.fidelity_reference messages JOB OUT`: for each judgment (principle, prompt,
masked responses in presentation order) the messages of `prepare_chat_messages`, given the
responses already masked (`mask_responses=False`), so both contenders see the same order.
`python -m bench.fidelity_reference parse JOB OUT`: each raw answer read by
`parse_rewardanything_output`, exactly as the package reads its model's output.
Stdlib and the reference venv's packages only.
"""

from __future__ import annotations

import sys

from bench.jobs import Json, read_json, write_json


def messages(job: Json) -> list[Json]:
    from rewardanything.processing import prepare_chat_messages

    return [
        prepare_chat_messages(j["principle"], j["prompt"], j["responses"], mask_responses=False)[0]
        for j in job["judgments"]
    ]


def parse(job: Json) -> list[Json]:
    from rewardanything.processing import parse_rewardanything_output

    parsed = []
    for text in job["outputs"]:
        result = parse_rewardanything_output(text)
        parsed.append({"scores": result.scores, "ranking": result.ranking})
    return parsed


if __name__ == "__main__":
    verb, job_path, out_path = sys.argv[1:4]
    write_json(out_path, {"messages": messages, "parse": parse}[verb](read_json(job_path)))
