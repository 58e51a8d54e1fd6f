# Two commands for a fresh machine; each sets itself up (virtual environment, install) first.
#   make demo   - the main job: the shape trace of the default configuration
#   make test   - the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup demo test benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) diagnostics/trace_shapes.py trace

test: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest

benchmark: $(STAMP)
	$(PY) -m pytest benchmarks --benchmark-enable

clean:
	rm -rf $(VENV) build *.egg-info .hypothesis .benchmarks
