# Two commands for a fresh machine: `make run` starts the app, `make test` runs the test suite.
# Both create the virtual environment in .venv on first use and reuse it afterwards.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of PyTorch that the project is tested with. A bare `pip install torch` on Linux
# pulls a CUDA build of several GB, so this version goes in first when torch is missing.
TORCH_VERSION ?= 2.13.0

.PHONY: run test install demo-poet benchmark clean

run: $(STAMP)
	$(BIN)/streamlit run app.py

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Rebuilds the demo poet that ships in course/assets (about ten minutes on two cores).
demo-poet: $(STAMP)
	$(BIN)/python -m reference train --preset poet --steps 2000 --eval-interval 200 --no-optimizer --out course/assets/demo_poet.pt

benchmark: $(STAMP)
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/poet_quality.py

clean:
	rm -rf $(VENV) .pytest_cache
