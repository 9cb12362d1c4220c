# Two commands for users: `make run` and `make test`. Both go through `make setup`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.artha-installed

# Headless Qt and a throw-away keyring for every test run (see docs/architecture.md).
TEST_ENV := QT_QPA_PLATFORM=offscreen QT_API=pyside6 PYTEST_QT_API=pyside6 \
            PYQTGRAPH_QT_LIB=PySide6 PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring
PYTEST_ARGS ?=

.PHONY: setup run test lint format bench package screenshot clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip check
	touch $(STAMP)

run: setup
	$(BIN)/artha

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy engine app brokers strategies

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	export XDG_RUNTIME_DIR=$$(mktemp -d) && chmod 700 $$XDG_RUNTIME_DIR && \
	$(TEST_ENV) timeout 1500 $(BIN)/python -m pytest -q -p no:cacheprovider -n auto \
		--timeout=120 --timeout-method=thread -o faulthandler_timeout=150 $(PYTEST_ARGS)

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

package: setup
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build packaging/artha.spec
	@echo "Frozen app: dist/artha/artha"

# The README's picture, made by the app itself on a throw-away workspace.
screenshot: setup  # every view as a new user sees it after `artha demo` (docs/images)
	ARTHA=$(BIN)/artha bash docs/screenshots.sh

clean:
	rm -rf build dist .mypy_cache .ruff_cache
