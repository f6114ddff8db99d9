import rajudge


def test_public_names_are_pinned() -> None:
    assert sorted(rajudge.__all__) == [
        "EngineSettings",
        "Item",
        "ItemResult",
        "Judgment",
        "Principle",
        "RajudgeError",
        "ResponseScore",
        "Timings",
        "library",
        "load_file",
        "resolve",
    ]
    assert all(hasattr(rajudge, name) for name in rajudge.__all__)
