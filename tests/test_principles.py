"""The principle library and loader: shipped files, `-p` resolution, and one-line errors."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import replace
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from rajudge.errors import PrincipleError, UsageError
from rajudge.judging.principles import library, load_file, resolve
from rajudge.records import Principle

CATEGORIES = {"content", "logic", "style", "tone", "structure"}
DOMAINS = {"chat", "code", "safety", "math"}
REQUIRED = {
    "concise",
    "detailed",
    "safe",
    "correct-code",
    "helpful",
    "honest",
    "follows-instructions",
}

Write = Callable[[str, str], Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a dedented YAML file under tmp_path and return its path."""

    def _write(text: str, name: str = "set.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def _shipped_files() -> list[tuple[str, dict[str, object]]]:
    folder = files("rajudge.library")
    return [
        (resource.name, yaml.safe_load(resource.read_text(encoding="utf-8")))
        for resource in sorted(folder.iterdir(), key=lambda r: r.name)
        if resource.name.endswith(".yaml")
    ]


# --- the shipped library ---------------------------------------------------------------------


def test_library_is_large_and_has_the_required_names() -> None:
    names = set(library())
    assert len(names) >= 18
    assert names >= REQUIRED


@pytest.mark.parametrize(("filename", "data"), _shipped_files())
def test_every_shipped_file_is_well_formed(filename: str, data: dict[str, object]) -> None:
    assert set(data) == {"name", "description", "text", "tags"}
    name, text, description, tags = data["name"], data["text"], data["description"], data["tags"]
    assert isinstance(name, str) and f"{name}.yaml" == filename
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
    assert isinstance(description, str) and 0 < len(description) <= 80
    assert isinstance(text, str) and "\n" not in text.strip()
    assert 1 <= len(re.findall(r"[.!?](\s|$)", text)) <= 4
    assert isinstance(tags, list) and set(tags) <= CATEGORIES | DOMAINS
    assert len(set(tags) & CATEGORIES) == 1
    assert set(tags) & DOMAINS


def test_library_covers_every_category_and_domain() -> None:
    tags = {tag for principle in library().values() for tag in principle.tags}
    assert tags >= CATEGORIES | DOMAINS


def test_library_principles_are_sourced_from_the_library_with_unit_weight() -> None:
    for name, principle in library().items():
        assert principle.name == name
        assert principle.source == "library"
        assert principle.weight == 1.0
        assert principle.text and principle.description


def test_library_returns_a_copy_of_its_cache() -> None:
    library().pop("concise")
    assert "concise" in library()


# --- resolve: one -p value ---------------------------------------------------------------------


def test_resolve_library_name() -> None:
    assert resolve("concise") == [library()["concise"]]


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".YAML"])
def test_resolve_yaml_file(write: Write, suffix: str) -> None:
    path = write("name: terse\ntext: Prefer short answers.\n", f"mine{suffix}")
    assert resolve(str(path)) == [
        Principle(name="terse", text="Prefer short answers.", source=str(path))
    ]


def test_resolve_missing_yaml_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PrincipleError, match="no such principle file") as caught:
        resolve(str(missing))
    assert str(caught.value) == f"{missing}: no such principle file"


def test_resolve_text_with_whitespace_is_an_inline_principle() -> None:
    spec = "  Prefer answers that cite a source.  "
    assert resolve(spec) == [
        Principle(name="inline", text="Prefer answers that cite a source.", source="inline")
    ]


def test_resolve_unknown_word_suggests_a_library_name() -> None:
    with pytest.raises(PrincipleError) as caught:
        resolve("consise")
    message = str(caught.value)
    assert "unknown principle 'consise'" in message
    assert "did you mean 'concise'?" in message
    assert "see `rajudge principles list`" in message


def test_resolve_unknown_word_without_a_close_match() -> None:
    with pytest.raises(PrincipleError) as caught:
        resolve("xyzzy")
    assert "did you mean" not in str(caught.value)
    assert "see `rajudge principles list`" in str(caught.value)


def test_resolve_empty_spec_is_an_error() -> None:
    with pytest.raises(PrincipleError, match="empty principle"):
        resolve("   ")


# --- load_file: the accepted shapes ------------------------------------------------------------


def test_single_mapping_with_all_fields(write: Write) -> None:
    path = write(
        """
        name: cites-sources
        description: Backs claims with sources.
        tags: [content, chat]
        weight: 2
        text: >
          Prefer responses that back each factual claim
          with a named, checkable source.
        """
    )
    [principle] = load_file(path)
    assert principle == Principle(
        name="cites-sources",
        text="Prefer responses that back each factual claim with a named, checkable source.",
        description="Backs claims with sources.",
        tags=("content", "chat"),
        weight=2.0,
        source=str(path),
    )
    assert isinstance(principle.weight, float)


def test_list_of_principles_keeps_file_order_and_defaults(write: Write) -> None:
    path = write(
        """
        - name: b-first
          text: Prefer B.
        - name: a-second
          text: Prefer A.
          weight: 0.5
        """
    )
    principles = load_file(str(path))
    assert [p.name for p in principles] == ["b-first", "a-second"]
    assert [p.weight for p in principles] == [1.0, 0.5]
    assert all(p.description == "" and p.tags == () for p in principles)


def test_principle_set_mixes_library_references_and_own_principles(write: Write) -> None:
    path = write(
        """
        principles:
          - use: concise
            weight: 3
          - use: honest
          - name: no-emoji
            text: Prefer responses without emoji.
        """
    )
    concise, honest, own = load_file(path)
    assert concise == replace(library()["concise"], weight=3.0)
    assert concise.source == "library"
    assert honest == library()["honest"]
    assert own.source == str(path)
    assert own.weight == 1.0


def test_single_use_mapping(write: Write) -> None:
    assert load_file(write("use: safe\nweight: 1.5\n"))[0].weight == 1.5


# --- load_file: every error is one line naming the file and key --------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "principles:\n  - use: concise\n  - name: a\n    text: t\n    weight: heavy\n",
            "principles[1].weight: must be a positive number, got 'heavy'",
        ),
        ("name: a\ntext: t\nweight: 0\n", "weight: must be a positive number, got 0"),
        ("name: a\ntext: t\nweight: -2.5\n", "weight: must be a positive number, got -2.5"),
        ("name: a\ntext: t\nweight: true\n", "weight: must be a positive number, got True"),
        ("name: a\ntext: t\nweight: .inf\n", "weight: must be a positive number, got inf"),
        ("- use: concise\n  weight: []\n", "[0].weight: must be a positive number, got []"),
        ("name: a\ntext: t\nwieght: 2\n", "unknown key 'wieght' (did you mean 'weight'?)"),
        (
            "name: a\ntext: t\ncolour: red\n",
            "unknown key 'colour' (allowed: name, text, description, tags, weight)",
        ),
        ("- name: a\n", "[0]: missing key 'text'"),
        ("text: t\n", "missing key 'name'"),
        ("name: a\ntext: '   '\n", "text: must not be empty"),
        ("name: a\ntext:\n", "text: must be a string, got nothing"),
        ("name: a\ntext: [x]\n", "text: must be a string, got a list"),
        ("name: ''\ntext: t\n", "name: must not be empty"),
        ("name: 7\ntext: t\n", "name: must be a string, got 7"),
        ("name: a\ntext: t\ndescription: 3\n", "description: must be a string, got 3"),
        ("name: a\ntext: t\ntags: chat\n", "tags: must be a list of strings, got 'chat'"),
        ("name: a\ntext: t\ntags: [chat, 4]\n", "tags[1]: must be a string, got 4"),
        (
            "- name: a\n  text: t\n- name: b\n  text: t\n- name: a\n  text: u\n",
            "[2].name: duplicate name 'a' (also [0])",
        ),
        (
            "principles:\n  - use: concise\n  - use: concise\n",
            "principles[1].use: duplicate name 'concise' (also principles[0])",
        ),
        (
            "principles:\n  - use: consise\n",
            "principles[0].use: no library principle 'consise' (did you mean 'concise'?); "
            "see `rajudge principles list`",
        ),
        (
            "use: concise\ntext: extra\n",
            "unknown key 'text' (allowed: use, weight)",
        ),
        ("- concise\n", "[0]: got the bare name 'concise'; write `use: concise`"),
        ("- [a, b]\n", "[0]: expected a mapping with name and text, got a list"),
        ("- 3\n", "[0]: expected a mapping with name and text, got 3"),
        ("principles: concise\n", "principles: must be a list of principles, got 'concise'"),
        ("principles: []\n", "principles: holds no principles"),
        ("[]\n", "holds no principles"),
        (
            "principles: []\nname: x\n",
            "unknown key 'name'; a set holds only 'principles'",
        ),
        ("", "expected a principle or a list of principles, got nothing"),
        ("just words\n", "expected a principle or a list of principles, got 'just words'"),
    ],
)
def test_file_errors_name_the_file_and_key(write: Write, text: str, expected: str) -> None:
    path = write(text)
    with pytest.raises(PrincipleError) as caught:
        load_file(path)
    assert str(caught.value) == f"{path}: {expected}"


def test_yaml_syntax_error_names_the_line(write: Write) -> None:
    path = write("name: a\ntext: t\ntags: [chat\nweight: 2\n")
    with pytest.raises(PrincipleError) as caught:
        load_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:4: invalid YAML: ")
    assert message.endswith("(while parsing a flow sequence started on line 3)")
    assert "\n" not in message


def test_duplicate_yaml_key_is_an_error_with_its_line(write: Write) -> None:
    path = write("name: a\ntext: t\nweight: 1\nweight: 2\n")
    with pytest.raises(PrincipleError) as caught:
        load_file(path)
    assert str(caught.value) == f"{path}:4: invalid YAML: duplicate key 'weight'"


def test_yaml_merge_keys_are_not_duplicates(write: Write) -> None:
    path = write("- &a {name: x, text: t}\n- {<<: *a, name: y, weight: 4}\n")
    assert [(p.name, p.weight) for p in load_file(path)] == [("x", 1.0), ("y", 4.0)]


def test_unreadable_files_are_principle_errors(tmp_path: Path) -> None:
    with pytest.raises(PrincipleError, match=r"missing\.yaml: cannot read: "):
        load_file(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"name: a\ntext: \xff\n")
    with pytest.raises(PrincipleError, match=r"binary\.yaml: not UTF-8 text"):
        load_file(binary)


def test_resolve_passes_file_errors_through(write: Write) -> None:
    path = write("name: a\n")
    with pytest.raises(PrincipleError, match=re.escape(f"{path}: missing key 'text'")):
        resolve(str(path))


def test_principle_errors_are_usage_errors() -> None:
    assert issubclass(PrincipleError, UsageError)
