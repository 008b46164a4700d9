# Two commands do all of the setup on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INDEX  ?= .kilde/index
CORPUS ?= corpus
PORT   ?= 8501
# llama-cpp-python compiles llama.cpp from source (65 min on 2 busy cores): built once,
# kept here, reused by `make llm-server` and `make test` on this machine.
LLM_WHEELS ?= $(HOME)/.cache/kilde/wheels
LLAMA_CPP  := llama-cpp-python==0.3.36

PDF_CORPUS ?= eval/runs/pdf-corpus

.PHONY: install run index test test-fast lint format eval eval-followups eval-heldout eval-pool eval-statements eval-norquad pdf-corpus bench clean llm-server train-reader eval-reader reader-scores refusal-head

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "kilde needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	# The CPU wheel of torch lies on this machine's disk; a bare `torch` pulls a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

index: install
	@scripts/system-deps --runtime
	$(BIN)/kilde ingest $(CORPUS) --index $(INDEX)

run: index
	$(BIN)/kilde app --index $(INDEX) --corpus $(CORPUS) --port $(PORT)

test: install
	@scripts/system-deps
	@# The real-LLM-server test runs only where the llama.cpp build is cached (make llm-server).
	@if ls $(LLM_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory llm-server; fi
	$(BIN)/python -m pytest -q -ra

llm-server: install
	mkdir -p $(LLM_WHEELS)
	ls $(LLM_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
		CMAKE_BUILD_PARALLEL_LEVEL=2 nice -n 10 $(BIN)/pip wheel --no-deps -w $(LLM_WHEELS) $(LLAMA_CPP)
	$(BIN)/pip install -q --find-links $(LLM_WHEELS) -e '.[llm-server]'


test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

# The text corpus printed as paged PDFs (roman front matter, so labels differ from pages);
# eval/gold/kilde-pdf.jsonl points at them.
pdf-corpus: install
	@scripts/system-deps
	$(BIN)/python -m kilde.eval.pdf_corpus $(PDF_CORPUS) --corpus $(CORPUS)

eval: install pdf-corpus
	$(BIN)/kilde eval --gold eval/gold/kilde.jsonl --corpus $(CORPUS) --out eval/runs/latest --variant all
	$(BIN)/kilde eval --gold eval/gold/kilde-pdf.jsonl --corpus $(PDF_CORPUS) --out eval/runs/latest-pdf --variant all

eval-followups: install
	$(BIN)/kilde eval --gold eval/gold/followups.jsonl --corpus $(CORPUS) --split dev --out eval/runs/followups-dev
	$(BIN)/kilde eval --gold eval/gold/followups.jsonl --corpus $(CORPUS) --split test --out eval/runs/followups-test

# 80 questions written later, for judging a choice once (eval/gold/README.md); never tune here.
eval-heldout: install
	$(BIN)/kilde eval --gold eval/gold/heldout.jsonl --corpus $(CORPUS) --split test --out eval/runs/heldout

# The gate's tuning set: the 970 training questions, written blind to the gate (docs/tuning.md).
eval-pool: install
	@mkdir -p .kilde
	cat train/data/kilde-train-*.jsonl train/more/kilde-train-*.jsonl > .kilde/pool.jsonl
	$(BIN)/kilde eval --gold .kilde/pool.jsonl --corpus $(CORPUS) --split all --out eval/runs/pool

eval-statements: install
	$(BIN)/kilde eval-statements --statements eval/gold/statements.jsonl --corpus $(CORPUS) --out eval/runs/statements

eval-norquad: install
	$(BIN)/python -m kilde.eval.norquad ../shared/norquad/validation.json eval/runs/norquad-data
	$(BIN)/kilde eval --gold eval/runs/norquad-data/gold.jsonl --corpus eval/runs/norquad-data/corpus --out eval/runs/norquad --variant all

bench: install
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/query_bench.py
	$(BIN)/python bench/ocr_bench.py

# The shipped reader (models/reader/) is the average of two runs of one recipe, 600 and
# 2,400 steps (docs/reader.md): about 90 min on an idle 2-core machine with two threads, at
# most about 150 min on a slower one (the time caps end a run early, its learning rate
# decayed); CUDA is used when present. The refusal head belongs to the encoder, so it is
# fit again at the end (about 25 min more).
# dumps of scored candidates (kilde.eval.simulate)
SIM = .kilde/sim
READER_RECIPE = --context none --layers 12 --frozen-layers 6 --threads 2 --dev-limit 200
train-reader: install
	$(BIN)/python -m kilde.reader.train --out .kilde/reader/s600 --steps 600 --max-minutes 60 \
		$(READER_RECIPE)
	$(BIN)/python -m kilde.reader.train --out .kilde/reader/s2400 --steps 2400 \
		--max-minutes 80 $(READER_RECIPE)
	$(BIN)/python -m kilde.reader.soup .kilde/reader/s600 .kilde/reader/s2400 --out models/reader
	$(MAKE) refusal-head

# The reader's refusal head (models/reader/refusal.json; docs/reader.md, "A refusal head"):
# the 1,090 training questions and the 327 NorQuAD train questions the reader never trained
# on (its dev hash; other text, in the fit and not in the threshold) scored once with the
# reader (about 25 min with NorQuAD's index), then fit in a minute. Never on an eval file.
refusal-head: install
	@mkdir -p $(SIM)/refusal
	cat train/more/kilde-train-*.jsonl > $(SIM)/refusal/train-more.gold.jsonl
	cat train/data/kilde-train-*.jsonl > $(SIM)/refusal/train-data.gold.jsonl
	cat train/followups/kilde-fu-*.jsonl > $(SIM)/refusal/train-followups.gold.jsonl
	for set in more data followups; do \
		$(BIN)/python -m kilde.eval.simulate dump --gold $(SIM)/refusal/train-$$set.gold.jsonl \
			--split all --out $(SIM)/refusal/train-$$set.jsonl || exit 1; \
	done
	$(BIN)/python -m kilde.eval.norquad ../shared/norquad/train.json $(SIM)/refusal/norquad-train
	$(BIN)/python -m kilde.eval.simulate dump --gold $(SIM)/refusal/norquad-train/gold.jsonl \
		--corpus $(SIM)/refusal/norquad-train/corpus --split reader-dev \
		--out $(SIM)/refusal/norquad-train-dev.jsonl
	$(BIN)/python -m kilde.reader.refusal_fit $(SIM)/refusal/train-more.jsonl \
		$(SIM)/refusal/train-data.jsonl $(SIM)/refusal/train-followups.jsonl \
		--out-of-domain $(SIM)/refusal/norquad-train-dev.jsonl --out models/reader

eval-reader: install
	$(BIN)/python -m kilde.reader.evaluate --reader models/reader \
		--out models/reader/validation.json --skip e5_bi_encoder_untrained

# The reader answerer's tuning sets (the questions the reader never trained on, and the
# follow-ups' dev split), scored once (about 15 min), then replayed for any settings in
# seconds (docs/reader.md, Reproduce).
reader-scores: install
	@mkdir -p $(SIM)
	cat train/more/kilde-train-*.jsonl > $(SIM)/train-more.gold.jsonl
	cat train/data/kilde-train-*.jsonl > $(SIM)/train-data.gold.jsonl
	$(BIN)/python -m kilde.eval.simulate dump --gold $(SIM)/train-more.gold.jsonl --split all --out $(SIM)/train-more.jsonl
	$(BIN)/python -m kilde.eval.simulate dump --gold $(SIM)/train-data.gold.jsonl --split reader-dev --out $(SIM)/train-data-dev.jsonl
	$(BIN)/python -m kilde.eval.simulate dump --gold eval/gold/kilde.jsonl --split dev --out $(SIM)/gold-dev.jsonl
	$(BIN)/python -m kilde.eval.simulate dump --gold eval/gold/followups.jsonl --split dev --out $(SIM)/followups-dev.jsonl
	$(BIN)/python -m kilde.eval.simulate replay $(SIM)/train-more.jsonl $(SIM)/train-data-dev.jsonl $(SIM)/gold-dev.jsonl \
		$(SIM)/followups-dev.jsonl \
		--grid reader_rules_weight=1,2,3,5 --grid reader_candidates=8,12

clean:
	rm -rf $(VENV) .kilde eval/runs .pytest_cache
