VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test dev lint

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/persona-ranker run

test: $(STAMP)
	$(BIN)/pytest

dev: $(STAMP)
	$(BIN)/persona-ranker dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
