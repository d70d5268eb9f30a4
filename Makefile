# facelib: `make run` runs the main job on the synthetic default, `make test` runs every check,
# `make test-fast` the quick ones.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS_STAMP := $(VENV)/.installed-extras
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install lab run test test-fast lint notebooks bench clean

install: $(STAMP)

# Reinstalls only when pyproject.toml changes, so a second `make install` returns at once.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(BIN)/python -m facelib.app.kernel >/dev/null
	touch $(STAMP)

# The optional extras: lab (JupyterLab; jupytext's Lab extension comes with jupytext) and
# tensorboard (to view the logs of `train.tensorboard: true`).
$(EXTRAS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,lab,tensorboard]"
	touch $(EXTRAS_STAMP)

# JupyterLab on the notebooks, with the `facelib` kernel of .venv (registered by install).
lab: $(EXTRAS_STAMP)
	$(BIN)/jupyter lab notebooks/

# Also copies the comparison chart and the predictions to docs/figures/, which the README shows.
run: install
	$(BIN)/facelib run params/demo.yaml
	mkdir -p docs/figures
	cp $${FACELIB_OUTPUTS:-outputs}/demo/comparison.png $${FACELIB_OUTPUTS:-outputs}/demo/predictions.png docs/figures/

lint: install
	$(BIN)/ruff check facelib benchmarks tests notebooks

# With the extras, so that the `make lab` and TensorBoard tests run rather than skip. Two
# xdist workers keep both cores busy (tests/conftest.py says what stays together);
# `make test PYTEST_WORKERS=0` runs everything in one process.
PYTEST_WORKERS ?= 2
test: install $(EXTRAS_STAMP) lint
	$(BIN)/python -m pytest -v -n $(PYTEST_WORKERS) --dist loadscope

# A developer's check in a few minutes: lint and tests/ without the tests marked slow (training)
# or notebook (papermill, `facelib run`); nbval's notebooks are left to `make test`.
test-fast: install lint
	$(BIN)/python -m pytest tests -m "not slow and not notebook"

# Re-executes the committed notebooks on the quick profile (after an intended change to what they show).
notebooks: install
	$(BIN)/facelib notebooks

# benchmarks/; its peer section runs where the peer extra is installed (see README, Performance).
bench: install
	$(BIN)/facelib bench

clean:
	rm -rf outputs/*/ cache/ .pytest_cache .ruff_cache
