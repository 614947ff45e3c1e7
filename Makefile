# Seeing What a Network Sees — one command for each thing you want to do.
#   make lab        install everything into .venv and open the course (the learner's notebooks) in JupyterLab
#   make answer-key open the solution notebooks (with their outputs) instead
#   make test       install everything and run every test (unit tests + nbval over every notebook,
#                   a Colab-like run of every notebook under other numerics, nbgrader's autograde)
#   make unit       the fast inner loop: the unit tests without the slow ones and without notebooks (about a minute)
#   make numerics   nbval over every notebook under every numeric set-up of scripts/numerics.py
#   make notebooks  re-execute every notebook in place (refresh committed outputs) and regenerate student versions
#   make checkpoints  retrain the cached models in data/ (the capstone's self-study set too)
#   make benchmark  print the performance table
#   make student    regenerate notebooks/student/ and the Colab badges/setup cells
#   make browser-test  run notebook 08's widgets in JupyterLab in headless Chromium (needs Chromium)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install lab answer-key test unit numerics notebooks checkpoints benchmark student browser-test clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(PY) scripts/lab.py $(ARGS)

answer-key: $(STAMP)
	$(PY) scripts/lab.py --answer-key $(ARGS)

test: $(STAMP)
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest tests -m "not slow and not notebook"

numerics: $(STAMP)
	$(PY) scripts/numerics.py run

notebooks: $(STAMP)
	$(PY) scripts/course_tools.py stamp
	$(PY) scripts/execute_notebooks.py
	$(PY) scripts/course_tools.py student

student: $(STAMP)
	$(PY) scripts/course_tools.py stamp
	$(PY) scripts/course_tools.py student

checkpoints: $(STAMP)
	$(PY) -m helpers.checkpoints
	$(PY) -m helpers.capstone make --self-study

benchmark: $(STAMP)
	$(PY) scripts/benchmark.py

browser-test: $(STAMP)
	PYTHON=$(PY) bash scripts/browser_test.sh

clean:
	rm -rf $(VENV) build *.egg-info "$${XDG_CACHE_HOME:-$$HOME/.cache}/seeing-what-a-network-sees"
