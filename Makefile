# Two commands for a newcomer (see README):
#   make demo   set up (system packages + .venv) and run the scripted conversation
#   make test   set up and run the whole test suite (what CI runs)

VENV ?= .venv
PY := $(VENV)/bin/python
# espeak-ng: second test voice · libportaudio2: real sound devices · fonts-noto-cjk: CJK
# captions · systemd: systemd-analyze for the unit file checks
APT_PACKAGES := espeak-ng libportaudio2 fonts-noto-cjk systemd
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test lint bench bench-accuracy

$(VENV)/.installed: pyproject.toml
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(APT_PACKAGES); }
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,noise,whisper,fleet]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/vitad demo --output-dir demo-out

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: setup
	$(PY) bench/pipeline.py
	$(PY) bench/render.py

# Understanding in laundromat noise: builds bench/corpus/out/ once, then runs the real pipeline
bench-accuracy: setup
	$(PY) bench/corpus/generate.py && $(PY) bench/accuracy.py
