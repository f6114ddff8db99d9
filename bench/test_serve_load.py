"""The reward server's load harness, run briefly against a real server on 127.0.0.1."""

from __future__ import annotations

from bench import serve_load


def test_a_short_load_is_answered_right_and_leaves_the_server_well() -> None:
    kinds = 6
    flags = ["--clients", str(kinds), "--seconds", "1", "--read-timeout", "1", "--threads", "1"]
    result = serve_load.main(flags)
    assert set(result["kinds"]) == {"valid", "malformed", "too long", "too big", "no key", "silent"}
    assert result["answered_right"] == result["requests"] >= kinds, result["kinds"]
    well = result["after"]
    assert well["health_status"] == 200 and well["health"]["queued"] == 0
    assert well["valid_status"] == 200 and well["valid_scored"]
    assert result["server_exit_code"] == 0
    assert not result["key_in_log"] and not result["traceback_in_log"]
