# Every target creates/uses .venv by itself: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPO ?= repository
KEYS ?= keys
BUMP ?= patch
CHANNEL ?= stable
NOTES ?=
BUNDLE ?=
VERSION ?=
TO ?=
DRY_RUN ?=

.PHONY: venv test demo demo-gui release refresh verify publish status bench conformance lint format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# the same story in a window for a person to watch (needs a display): examples/demo_gui.py
demo-gui: $(STAMP)
	$(BIN)/python examples/demo_gui.py

# BUMP= (empty) with CHANNEL=stable promotes the newest pre-release; VERSION=x.y.z is explicit.
# The build_command of repo-tools.json runs with this environment first on PATH (pyinstaller);
# the frozen windowed demo: REPO=.frozen/repository KEYS=.frozen/keys (docs/shipping.md)
release: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/repo-tools --repo $(REPO) --keys $(KEYS) release $(if $(VERSION),--version $(VERSION),$(if $(BUMP),--bump $(BUMP))) \
		--channel $(CHANNEL) $(if $(NOTES),--notes "$(NOTES)") $(if $(BUNDLE),--bundle $(BUNDLE)) \
		$(if $(DRY_RUN),--dry-run) --demo-keys-ok

refresh: $(STAMP)
	$(BIN)/repo-tools --repo $(REPO) --keys $(KEYS) refresh

verify: $(STAMP)
	$(BIN)/repo-tools --repo $(REPO) --keys $(KEYS) verify

# TO=DIR or TO=s3://BUCKET/PREFIX; empty uses publish_to of repo-tools.json
publish: $(STAMP)
	$(BIN)/repo-tools --repo $(REPO) --keys $(KEYS) publish $(if $(TO),--to $(TO))

status: $(STAMP)
	$(BIN)/repo-tools --repo $(REPO) --keys $(KEYS) status

bench: $(STAMP)
	$(BIN)/python -m bench

# the public tuf-conformance suite (SUITE=a checkout of it) against update-client-conformance, in
# its own environment (it pins its own tuf); needs faketime; docs/conformance.md
SUITE ?=
CONFORMANCE_ENV := .bench/conformance-env
conformance: $(STAMP)
	@test -f "$(SUITE)/tuf_conformance/conftest.py" || \
		{ echo "usage: make conformance SUITE=/path/to/tuf-conformance (a checkout)"; exit 1; }
	@command -v faketime >/dev/null || { echo "the suite needs faketime (apt-get install faketime)"; exit 1; }
	test -x $(CONFORMANCE_ENV)/bin/python || $(PYTHON) -m venv $(CONFORMANCE_ENV)
	cmp -s "$(SUITE)/pyproject.toml" $(CONFORMANCE_ENV)/suite-pyproject.toml || \
		{ $(CONFORMANCE_ENV)/bin/python -m pip install --quiet -e "$(SUITE)" && \
		cp "$(SUITE)/pyproject.toml" $(CONFORMANCE_ENV)/suite-pyproject.toml; }
	cd "$(SUITE)" && $(CURDIR)/$(CONFORMANCE_ENV)/bin/python -m pytest -q -p no:cacheprovider \
		tuf_conformance --entrypoint=$(CURDIR)/$(BIN)/update-client-conformance

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf .demo .bench .pytest_cache .ruff_cache
