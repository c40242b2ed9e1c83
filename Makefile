# Station Fleet: `make setup` once (as root on a clean Debian 12), then `make run` or `make test`.
.PHONY: setup check test run clean-var

VENV := .venv
BIN := $(VENV)/bin
PY_DIRS := protocol agent controller stationctl simulator
PYTEST_TIMEOUT ?= 300

setup:
	@scripts/bootstrap.sh

check: setup
	$(BIN)/ruff format --check $(PY_DIRS) tests bench
	$(BIN)/ruff check $(PY_DIRS) tests bench
	$(BIN)/mypy $(PY_DIRS)
	$(BIN)/lint-imports --no-cache  # import contracts in .importlinter

test: setup
	$(BIN)/pytest tests --timeout=$(PYTEST_TIMEOUT) $(PYTEST_ARGS)

run: setup
	$(BIN)/python -m station_controller.devstack run

clean-var:
	rm -rf var
