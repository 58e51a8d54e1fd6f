# Two commands for a fresh machine; each sets itself up (virtual environment, install) first.
#   make demo   - the main job: the shape trace of the default configuration
#   make test   - the test suite (two worker processes, one per core; a test file stays in one)
#   make lint   - ruff lint and format check (the test suite runs them too)
#   make study  - the dose-response study, quick preset (figure and metrics in dose_response_out/)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup demo test lint study benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,baseline]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) diagnostics/trace_shapes.py trace

test: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

study: $(STAMP)
	$(PY) -m ptycho.studies.dose_response --preset quick --output-dir dose_response_out --overwrite

benchmark: $(STAMP)
	TF_CPU_ALLOCATOR_USE_BFC=true $(PY) -m pytest benchmarks --benchmark-enable

clean:
	rm -rf $(VENV) build *.egg-info .hypothesis .benchmarks dose_response_out
