# Yigongti — two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
RESIDENTS ?= 20000
SEED   ?= 2024

.PHONY: demo test lint typecheck pytest bench messages serve clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed-base: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(PY) manage.py migrate --noinput
	$(PY) manage.py generate_county --if-empty --residents $(RESIDENTS) --seed $(SEED)
	$(PY) manage.py demo_logins
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

serve: $(VENV)/.installed-base
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

test: $(VENV)/.installed-test lint typecheck pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy .

# The suite runs on every core (pytest-xdist; each worker has its own test database, live server
# and browser). PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
pytest: $(VENV)/.installed-test
	$(BIN)/pytest -n $(PYTEST_WORKERS)

bench: $(VENV)/.installed-test
	$(PY) bench/run.py

# Regenerate the catalogue after adding strings, then compile; translations can be given as JSON
# files ({msgid: msgstr}): make messages TRANSLATIONS="a.json b.json".
messages: $(VENV)/.installed-test
	$(PY) manage.py translate_catalogue $(TRANSLATIONS)

clean:
	rm -rf $(VENV) var
