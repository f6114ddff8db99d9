import rajudge


def test_public_names_are_pinned() -> None:
    assert sorted(rajudge.__all__) == [
        "ConfigError",
        "ContextOverflowError",
        "DemoModelWarning",
        "EngineSettings",
        "InputError",
        "Item",
        "ItemResult",
        "Judge",
        "Judgment",
        "ModelError",
        "Principle",
        "PrincipleError",
        "RajudgeError",
        "ResponseScore",
        "SCHEMA_VERSION",
        "Timings",
        "UsageError",
        "library",
        "load_file",
        "resolve",
        "result_record",
        "reward_function",
    ]
    assert all(hasattr(rajudge, name) for name in rajudge.__all__)


def test_the_version_is_the_installed_packages() -> None:
    from importlib.metadata import version

    assert rajudge.__version__ == version("rajudge")
