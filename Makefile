# The two commands a fresh machine needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
VENDOR := static/vendor

.PHONY: install run test test-next-year lint format chromium wrk bench bench-ingest bench-live bench-memory bench-photos clean translations messages

install: $(VENV)/.installed $(VENDOR)/.installed translations

# The patient pages' languages: compile the catalogues (the .mo files are not committed).
translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d webapp/translations

# After changing a patient-facing text: extract the messages and merge them into each
# language's catalogue, then translate the new entries (tests fail until every one is).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k lazy_pgettext:1c,2 \
		--no-location -o webapp/translations/messages.pot .
	$(BIN)/pybabel update --width 100 --ignore-obsolete -i webapp/translations/messages.pot \
		-d webapp/translations
	rm webapp/translations/messages.pot

# --no-compile: Python compiles the modules it imports when they are first imported, instead of
# pip compiling every installed file up front (half the install's time on a fresh clone).
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e ".[dev]"
	touch $@

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/pico.min.css
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chart.umd.min.js
	touch $@

run: install
	$(FLASK) db upgrade
	$(FLASK) dev bootstrap
	$(FLASK) run --host 127.0.0.1 --port 5000

# Every core runs tests (each xdist worker has its own scratch databases and browser);
# PYTEST_ARGS adds options, e.g. --durations=15 in CI.
test: install chromium lint
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

# The unit and integration tests again with the clock a year ahead (time-machine), so that a
# test that would fail on some later day fails today. Browser tests run once, in `make test`:
# Chromium keeps its own clock.
test-next-year: install
	$(BIN)/pytest -n auto tests/unit tests/integration --days-ahead=365 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Browser tests drive Debian's Chromium; Playwright cannot download its own browser here.
chromium:
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

# The delivery benchmark loads the server with wrk, as the delivery targets were measured.
wrk:
	@command -v wrk >/dev/null || { \
		echo "installing wrk for the delivery benchmark"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk; }

# Benchmarks print figures (see bench/); each makes its own scratch PostgreSQL database on
# this server (SQLite too for the dashboard).
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export BENCH_DATABASE_URL

bench: install
	$(BIN)/python -m bench.dashboard
	$(BIN)/python -m bench.export

bench-ingest: install wrk
	$(BIN)/python -m bench.ingest

bench-live: install chromium
	$(BIN)/python -m bench.live

bench-memory: install
	$(BIN)/python -m bench.memory

bench-photos: install
	$(BIN)/python -m bench.photos

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .ruff_cache
