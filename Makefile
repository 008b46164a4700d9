# Two commands do all of the setup on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INDEX  ?= .kilde/index
CORPUS ?= corpus
PORT   ?= 8501

.PHONY: install run index test test-fast lint format eval eval-norquad bench clean train-reader eval-reader

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "kilde needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	# The CPU wheel of torch lies on this machine's disk; a bare `torch` pulls a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/kilde ingest $(CORPUS) --index $(INDEX)

run: index
	$(BIN)/kilde app --index $(INDEX) --corpus $(CORPUS) --port $(PORT)

test: install
	@scripts/system-deps
	$(BIN)/python -m pytest -q -ra

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

eval: install
	$(BIN)/kilde eval --gold eval/gold/kilde.jsonl --corpus $(CORPUS) --out eval/runs/latest --retriever all

eval-norquad: install
	$(BIN)/python -m kilde.eval.norquad ../shared/norquad/validation.json eval/runs/norquad-data
	$(BIN)/kilde eval --gold eval/runs/norquad-data/gold.jsonl --corpus eval/runs/norquad-data/corpus --out eval/runs/norquad --retriever all

bench: install
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/query_bench.py

# The shipped reader (models/reader/): CPU with 1 thread takes about an hour on a shared
# 2-core machine; CUDA is used when present. The fp32 weights stay in .kilde/reader/.
train-reader: install
	$(BIN)/python -m kilde.reader.train --out models/reader --context none --steps 400 \
		--dev-limit 200 --save-torch .kilde/reader/fp32.pt

eval-reader: install
	$(BIN)/python -m kilde.reader.evaluate --reader models/reader --torch .kilde/reader/fp32.pt \
		--out models/reader/validation.json

clean:
	rm -rf $(VENV) .kilde eval/runs .pytest_cache
