# facelib: `make run` runs the main job on the synthetic default, `make test` runs every check,
# `make test-fast` the quick ones.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install run test test-fast lint notebooks bench clean

install: $(STAMP)

# Reinstalls only when pyproject.toml changes, so a second `make install` returns at once.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# Also copies the comparison chart and the predictions to docs/figures/, which the README shows.
run: install
	$(BIN)/facelib run params/demo.yaml
	mkdir -p docs/figures
	cp $${FACELIB_OUTPUTS:-outputs}/demo/comparison.png $${FACELIB_OUTPUTS:-outputs}/demo/predictions.png docs/figures/

lint: install
	$(BIN)/ruff check facelib tests notebooks

test: install lint
	$(BIN)/python -m pytest -v

# A developer's check in a few minutes: lint and tests/ without the tests marked slow (training)
# or notebook (papermill, `facelib run`); nbval's notebooks are left to `make test`.
test-fast: install lint
	$(BIN)/python -m pytest tests -m "not slow and not notebook"

# Re-executes the committed notebooks on the quick profile (after an intended change to what they show).
notebooks: install
	$(BIN)/facelib notebooks

bench: install
	$(BIN)/facelib bench

clean:
	rm -rf outputs/*/ cache/ .pytest_cache .ruff_cache
