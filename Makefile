# medlens: two commands on a fresh machine (needs only python3 >= 3.11)
#   make demo   set up, build the knowledge graph, analyze the example notes
#   make test   set up, build the knowledge graph, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
KG     ?= $(or $(MEDLENS_KG),$(HOME)/.local/share/medlens/kg.sqlite)
PYTEST_ARGS ?=

.PHONY: demo test test-slow setup kg bench clean

demo: setup $(KG)
	$(BIN)/medlens analyze examples/ --kg $(KG)

test: setup $(KG)
	MEDLENS_KG=$(KG) $(BIN)/python -m pytest $(PYTEST_ARGS)

test-slow: setup $(KG)
	MEDLENS_KG=$(KG) $(BIN)/python -m pytest --slow $(PYTEST_ARGS)

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# rebuilt when the code or data that define the graph change (a stale graph is refused at load)
GRAPH_INPUTS = $(wildcard medlens/kg/*.py medlens/kg/sources/*.py medlens/normalize.py) \
	medlens/resources/en/abbreviations.json medlens/resources/en/clinical_lexicon.json medlens/resources/en/label_rules.json

kg: $(KG)

$(KG): $(GRAPH_INPUTS) | setup
	$(BIN)/medlens kg build --output $(KG)

bench: setup $(KG)
	MEDLENS_KG=$(KG) $(BIN)/python benchmarks/ner_f1.py
	MEDLENS_KG=$(KG) $(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
