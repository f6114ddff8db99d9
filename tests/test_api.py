import rajudge


def test_public_names_are_pinned() -> None:
    assert sorted(rajudge.__all__) == [
        "DemoModelWarning",
        "EngineSettings",
        "Item",
        "ItemResult",
        "Judge",
        "Judgment",
        "Principle",
        "RajudgeError",
        "ResponseScore",
        "Timings",
        "library",
        "load_file",
        "resolve",
        "reward_function",
    ]
    assert all(hasattr(rajudge, name) for name in rajudge.__all__)
