# medlens: two commands on a fresh machine (needs only python3 >= 3.11)
#   make demo   set up, build the knowledge graph, analyze the example notes
#   make test   set up and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
KG     ?= $(or $(MEDLENS_KG),$(HOME)/.local/share/medlens/kg.sqlite)
PYTEST_ARGS ?=

.PHONY: demo test test-slow setup kg bench clean

demo: setup $(KG)
	$(BIN)/medlens analyze examples/ --kg $(KG)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-slow: setup $(KG)
	MEDLENS_KG=$(KG) $(BIN)/python -m pytest --slow $(PYTEST_ARGS)

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

kg $(KG): | setup
	$(BIN)/medlens kg build --output $(KG)

bench: setup $(KG)
	MEDLENS_KG=$(KG) $(BIN)/python benchmarks/ner_f1.py
	MEDLENS_KG=$(KG) $(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
