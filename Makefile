# townsquare — `make demo` runs the service on the embedded default; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[all]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/townsquare serve --demo

test: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/python -m pytest -q

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf var .pytest_cache
