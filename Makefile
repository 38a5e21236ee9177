# Zylin: `make run` starts it on embedded defaults, `make test` runs the checks.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint check bench reliability install clean

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
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) --proxy-headers zylin.asgi:application

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

test: lint
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) benchmarks/run.py

reliability: $(STAMP)
	$(VENV)/bin/pytest tests/reliability -m "not live" -p no:randomly

clean:
	rm -rf $(VENV) .test-media zylin.sqlite3
