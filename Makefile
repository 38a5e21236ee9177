# Zylin: `make run` starts it on embedded defaults, `make test` runs the checks.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test test-tools lint check bench reliability install clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Zylin is starting: admin at http://$(HOST):$(PORT)/admin/ (Ctrl-C to stop)"
	$(PY) -m zylin.serve -b $(HOST) -p $(PORT) --proxy-headers zylin.asgi:application

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

test: lint test-tools
	$(VENV)/bin/pytest

# Debian's headless Chromium + driver (admin browser tests) and promtool (alert rule tests):
# installed when missing and running as root with apt; otherwise those tests skip.
test-tools:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && command -v promtool >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
	   && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) >/dev/null \
	  || echo "test-tools: apt-get failed; the browser and promtool tests will skip"; \
	else echo "test-tools: chromium, chromium-driver or promtool missing; their tests will skip"; fi

bench: $(STAMP)
	$(PY) benchmarks/run.py

# Faults, bad input, races, disconnects, security, load and SIGTERM; prints the reliability table
# (also written to test-artifacts/reliability.json).
reliability: $(STAMP)
	ZYLIN_RELIABILITY_FULL=1 ZYLIN_RELIABILITY_SCALE=3 ZYLIN_RELIABILITY_REPORT=test-artifacts/reliability.json \
	$(VENV)/bin/pytest tests/reliability -m "not live" -p no:randomly

clean:
	rm -rf $(VENV) .test-media zylin.sqlite3
