import subprocess
import sys

import rajudge


def test_public_names_are_pinned() -> None:
    assert sorted(rajudge.__all__) == [
        "Backend",
        "BackendError",
        "ConfigError",
        "ContextOverflowError",
        "DemoModelWarning",
        "EngineSettings",
        "InputError",
        "Item",
        "ItemResult",
        "Job",
        "Judge",
        "Judgment",
        "ModelError",
        "Principle",
        "PrincipleError",
        "RajudgeError",
        "ResponseScore",
        "SCHEMA_VERSION",
        "ServerItemError",
        "Tally",
        "Timings",
        "UsageError",
        "library",
        "load_file",
        "resolve",
        "result_record",
        "reward_function",
    ]
    assert all(hasattr(rajudge, name) for name in rajudge.__all__)
    assert set(rajudge.__all__) <= set(dir(rajudge))


def test_the_names_are_the_modules_own() -> None:
    from rajudge.engine.base import Backend, Job
    from rajudge.errors import BackendError, ServerItemError
    from rajudge.judge import Judge
    from rajudge.run.core import Tally

    assert (rajudge.Tally, rajudge.Backend, rajudge.Job) == (Tally, Backend, Job)
    assert (rajudge.BackendError, rajudge.ServerItemError) == (BackendError, ServerItemError)
    assert rajudge.Judge is Judge


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        rajudge.NoSuchName  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchName" in str(exc)
    else:
        raise AssertionError("rajudge.NoSuchName did not raise")


def test_importing_the_errors_loads_a_handful_of_modules() -> None:
    """A caller that only catches rajudge's errors pays for them, not for the engine."""
    probe = (
        "import sys, rajudge.errors, json\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('rajudge', 'numpy', 'llama_cpp'))))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == '["rajudge", "rajudge.errors"]'


def test_the_command_line_loads_no_statistics_until_compare_needs_them() -> None:
    """scipy costs every one-shot `rajudge score` a few tenths of a second at startup."""
    probe = "import sys, rajudge.cli; print('scipy' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "False"


def test_star_import_gives_every_public_name() -> None:
    names: dict[str, object] = {}
    exec("from rajudge import *", names)
    assert set(rajudge.__all__) <= set(names)


def test_the_version_is_the_installed_packages() -> None:
    from importlib.metadata import version

    assert rajudge.__version__ == version("rajudge")
