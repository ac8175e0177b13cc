VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test dev lint postgres redis chromium screenshots

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,celery]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/persona-ranker run

test: $(STAMP) postgres redis chromium
	$(BIN)/pytest

# The UI screenshot test drives Debian's Chromium headless.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

screenshots: $(STAMP) chromium
	$(BIN)/python bench/ui_screenshots.py --out docs/images

# The Postgres tests use the server on 127.0.0.1:5432: start the machine's cluster if down.
postgres:
	@pg_isready -h 127.0.0.1 -p 5432 -q || { \
	  pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql)" main start; \
	  for i in $$(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; }
	@pg_isready -h 127.0.0.1 -p 5432

# The celery test's broker: the machine's Redis on 127.0.0.1:6379, started if down (the test
# starts a Redis of its own when none answers).
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	  for i in $$(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done; }

dev: $(STAMP)
	$(BIN)/persona-ranker dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
