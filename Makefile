# medlens: two commands on a fresh machine (needs only python3 >= 3.11)
#   make demo   set up (runtime), build the knowledge graph, analyze the example notes
#   make test   set up (runtime + test + training extras), build the graph if needed, run the tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
KG     ?= $(or $(MEDLENS_KG),$(HOME)/.local/share/medlens/kg.sqlite)
PYTEST_ARGS ?=

.PHONY: demo test test-slow setup setup-dev kg bench clean

demo: setup $(KG)
	$(BIN)/medlens analyze examples/ --kg $(KG)

test: setup-dev $(KG)
	MEDLENS_KG=$(KG) $(BIN)/python -m pytest $(PYTEST_ARGS)

test-slow: setup-dev $(KG)
	MEDLENS_KG=$(KG) $(BIN)/python -m pytest --slow $(PYTEST_ARGS)

# runtime: what `pip install medlens` gives (no torch)
setup: $(VENV)/.installed

# tests and training: adds pytest, the service test tools, the `train` extra (torch==2.13.0, CPU) and the
# `ray` extra (ray, pyarrow: `medlens batch`, whose tests start a two-node Ray cluster on this machine)
setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,train,ray]'
	touch $(VENV)/.installed $@

# rebuilt when the code or data that define the graph change (a stale graph is refused at load)
GRAPH_INPUTS = $(filter-out medlens/kg/fuzzy.py medlens/kg/grown.py,$(wildcard medlens/kg/*.py medlens/kg/sources/*.py medlens/normalize.py)) \
	medlens/resources/en/abbreviations.json medlens/resources/en/clinical_lexicon.json medlens/resources/en/label_rules.json \
	$(wildcard medlens/resources/kg/*.tsv.gz) medlens/resources/en/common/ddxplus.json medlens/resources/en/common/ddxplus_mapping.json \
	medlens/resources/en/medications/brands.json

kg: $(KG)

$(KG): $(GRAPH_INPUTS) | setup
	$(BIN)/medlens kg build --output $(KG)

bench: setup-dev $(KG)
	MEDLENS_KG=$(KG) $(BIN)/python benchmarks/ner_f1.py
	MEDLENS_KG=$(KG) $(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
