# Every target creates the virtual environment on first use, so a fresh clone needs
# nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The offline corpora (stopwords, sentence_polarity, shakespeare) live beside the
# checkout on the project's machines; elsewhere NLTK's own data path is used.
SHARED_NLTK := $(abspath ../shared/nltk_data)
ifeq ($(origin NLTK_DATA), undefined)
  ifneq ($(wildcard $(SHARED_NLTK)),)
    export NLTK_DATA := $(SHARED_NLTK)
  endif
endif

.PHONY: demo test docs lab bench clean

# The stamp holds the pyproject.toml it was installed from: nbdev-export rewrites that
# file (same content, new time), which alone must not trigger a reinstall.
$(STAMP): pyproject.toml
	@if [ -f $(STAMP) ] && cmp -s pyproject.toml $(STAMP); then touch $(STAMP); else \
	  set -e; \
	  echo "installing the project into $(VENV)"; \
	  $(PYTHON) -m venv $(VENV); \
	  $(BIN)/pip install --quiet --upgrade pip; \
	  $(BIN)/pip install --quiet -e '.[dev]'; \
	  cp pyproject.toml $(STAMP); \
	fi

demo: $(STAMP)
	$(BIN)/python -m neurotic.demo

test: $(STAMP)
	$(BIN)/python tools/check_sync.py
	$(BIN)/nbdev-test --n-workers 2
	$(BIN)/python -m pytest

docs: $(STAMP)
	$(BIN)/python tools/build_docs.py

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=nbs

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/run_all.py

clean:
	rm -rf _docs _proc .pytest_cache
