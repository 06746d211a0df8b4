# remoroo: `make demo` and `make test` set up everything they need in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck install sandbox browser clean lock

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Pin what the tests ran against: every installed package at its version (remoroo itself and pip excluded).
lock: $(STAMP)
	{ echo "# Tested versions: make installs with these (pip -c), so a fresh machine gets what the tests ran against."; \
	  echo "# Regenerate after changing dependencies: make lock"; \
	  $(BIN)/python -m pip list --format=freeze --exclude-editable | grep -vE '^(remoroo|pip|setuptools|wheel)=='; \
	} > constraints.txt

install: $(STAMP)

# Measured commands run in a bubblewrap sandbox: install it when missing (as root, as CI runs), else say how.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (apt-get)"; \
	    (apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null)); \
	  elif [ "$$(id -u)" = 0 ] && command -v dnf >/dev/null 2>&1; then dnf install -y -q bubblewrap; \
	  else echo "remoroo needs bubblewrap: sudo apt-get install bubblewrap (or: sudo dnf install bubblewrap)," \
	    "or run with --sandbox off"; exit 1; fi; }
	@command -v bwrap >/dev/null 2>&1 || { echo "bubblewrap did not install: sudo apt-get install bubblewrap"; exit 1; }

# The HTML reports are tested in headless Chromium: install it when missing (as root, as CI runs), else the
# browser tests are skipped with a reason.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt-get)"; \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null)) || \
	    echo "chromium did not install: the browser tests will be skipped"; \
	  else echo "no chromium: the browser tests will be skipped (sudo apt-get install chromium)"; fi; }

demo: $(STAMP) sandbox
	$(BIN)/remoroo run --case examples/fib_fix/case.json --brain search --yes
	@echo 'remoroo is in .venv/bin: export PATH="$$PWD/.venv/bin:$$PATH", then: remoroo runs, remoroo show latest'

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck sandbox browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build dist src/*.egg-info
