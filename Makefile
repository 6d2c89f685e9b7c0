# Two commands do all set-up on a fresh machine (each creates .venv on first use, with the extras
# render (pmkit render/demo), lab (the notebooks in Jupyter), lake (format sql) and test):
#   make demo   renders the bundled sample incidents' postmortems (HTML, Markdown) into out/
#   make test   runs the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-random lint bench samples lab notebooks clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[render,lab,test,lake]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/pmkit demo

test: $(VENV)/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench samplegen
	$(BIN)/ruff format --check src tests bench samplegen
	$(BIN)/mypy src/pmkit
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_layout.py

bench: $(VENV)/.installed
	$(BIN)/python bench/loaders.py

# the sample generator is a development tool at the repository root (not in the wheel)
samples: $(VENV)/.installed
	$(BIN)/python -m samplegen data/samples
	$(BIN)/python -m samplegen.portfolio data/portfolio --include ../samples/INC-2025-0142 --include ../samples/INC-20250120-103000

lab: $(VENV)/.installed
	$(BIN)/jupyter lab notebooks/

notebooks: $(VENV)/.installed
	$(BIN)/python scripts/refresh_notebooks.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

# The longer randomized property-test run for a release (CI runs the fixed profile "ci").
test-random: $(VENV)/.installed
	HYPOTHESIS_PROFILE=release PMKIT_HYPOTHESIS_SCALE=20 $(BIN)/python -m pytest tests
