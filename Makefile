# The everyday commands. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LEADRELAY_INSTANCE ?= $(CURDIR)/instance

.PHONY: run test lint format fuzz bench setup clean i18n

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m backend.devserver

test: $(STAMP)
	$(BIN)/python tests/run.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Many more schemathesis cases than `make test` runs (about 3,000): role by role, a failure
# shrunk to its smallest form, plus the property tests. The default 300 is roughly 75,000
# cases and a quarter of an hour; LEADRELAY_FUZZ_EXAMPLES=100 is a third of that.
fuzz: $(STAMP)
	LEADRELAY_FUZZ_EXAMPLES=$${LEADRELAY_FUZZ_EXAMPLES:-300} LEADRELAY_FUZZ_PER_ROLE=1 \
		$(BIN)/python tests/run.py --no-browser tests/fuzz $(ARGS)

bench: $(STAMP)
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

# Extract user-visible strings, merge them into every catalogue, compile.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F backend/babel.cfg -k _l -k _lp:1c,2 -o backend/translations/messages.pot .
	$(BIN)/pybabel update -i backend/translations/messages.pot -d backend/translations --no-fuzzy-matching
	$(BIN)/python -c "from backend.i18n import compile_catalogs; compile_catalogs()"

clean:
	rm -rf instance .pytest_cache
