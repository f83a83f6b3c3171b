# Three environments (see README): Airflow 3 in .venv-airflow; two TFX lines, TFX 1.15.1 /
# TF 2.15.1 (Estimators) in .venv-tfx115 and TFX 1.16.0 / TF 2.16.2 (Keras only) in
# .venv-tfx116. Each is built from its committed lock and stamped; `make setup` with nothing
# changed is a no-op.
# pip's wheel cache (PIP_CACHE_DIR, default ~/.cache/pip) is what a CI cache should keep.

PYTHON ?= python3.11
AIRFLOW_VENV := .venv-airflow
TFX_LINES := tfx115 tfx116
TFX_VENVS := $(TFX_LINES:%=.venv-%)
PIP_INSTALL := install --quiet --no-deps --disable-pip-version-check
PROJECT_FILES := setup.cfg pyproject.toml
# The checkout on each environment's path (a .pth file): the example pipelines' user code
# (modules/, named by dotted path) is the checkout's, not the package's; the factory hands
# its folder to the compile and the nodes as it does a team's DAG folder.
CHECKOUT_PTH := import sys, sysconfig, pathlib; \
	pathlib.Path(sysconfig.get_paths()["purelib"], "tfx_dags_checkout.pth").write_text(sys.argv[1] + "\n")
UV_COMPILE := $(AIRFLOW_VENV)/bin/uv pip compile --quiet --index-url https://pypi.org/simple

.PHONY: setup browser demo view test test-fast test-tfx-unit test-durations lint bench gpu-check locks clean

setup: $(AIRFLOW_VENV)/.installed $(TFX_VENVS:%=%/.installed) browser

# Debian's Chromium and ChromeDriver, for the browser test of the TFX view (as root, or
# through sudo); nothing to do where both are installed. Where apt cannot install them, setup
# goes on: the browser test then skips (and fails under CI).
BROWSER_PACKAGES := chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null || { \
			$(SUDO) apt-get update -q >/dev/null && \
			$(SUDO) apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null; } || \
		echo "warning: could not install $(BROWSER_PACKAGES); the browser test will skip"; }

$(AIRFLOW_VENV)/.installed: requirements/airflow.lock $(PROJECT_FILES)
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip $(PIP_INSTALL) -r requirements/airflow.lock
	$(AIRFLOW_VENV)/bin/pip $(PIP_INSTALL) -e .
	$(AIRFLOW_VENV)/bin/python -c '$(CHECKOUT_PTH)' $(CURDIR)
	touch $@

# TFX declares python<3.11; its compiled dependencies all ship cp311 wheels, and the tests
# prove the combination works. One rule per TFX line: .venv-<line> from requirements/<line>.lock.
.venv-tfx%/.installed: requirements/tfx%.lock $(PROJECT_FILES)
	test -x $(@D)/bin/python || $(PYTHON) -m venv $(@D)
	$(@D)/bin/pip $(PIP_INSTALL) --ignore-requires-python -r $<
	$(@D)/bin/pip $(PIP_INSTALL) -e .
	$(@D)/bin/python -c '$(CHECKOUT_PTH)' $(CURDIR)
	touch $@

demo: setup
	$(AIRFLOW_VENV)/bin/python -m dev.demo

# After `make demo`: the demo's Airflow UI with the TFX view on http://127.0.0.1:8080.
view: setup
	$(AIRFLOW_VENV)/bin/python -m dev.demo serve

lint: setup
	$(AIRFLOW_VENV)/bin/ruff check .
	$(AIRFLOW_VENV)/bin/ruff format --check .
	$(AIRFLOW_VENV)/bin/mypy

# The whole suite on two worker processes (tests/conftest.py keeps each module, or group of
# modules sharing a run, on one worker, the longest first); the 25 slowest tests are printed.
PYTEST := $(AIRFLOW_VENV)/bin/pytest
test: lint test-tfx-unit
	$(PYTEST) tests -n 2 --dist loadgroup --durations=25

# After a whole `make test`: what each module took there becomes the committed order
# (tests/module_durations.json; the suite orders by it, the longest modules first).
test-durations:
	cp $${TMPDIR:-/tmp}/tfx-dags-tests-$$(id -u)/module_durations.json tests/module_durations.json

# The inner loop: unit and DAG integrity tests, and whatever else needs no DAG run (the
# `quick` marker); a few minutes at most.
test-fast: setup test-tfx-unit
	$(AIRFLOW_VENV)/bin/ruff check .
	$(PYTEST) tests -m "unit or integrity or quick" --durations=10

# The TFX side's unit tier (tests/tfx_unit): the read model of ML Metadata and what the query
# command and the TFX view render from it, on in-memory stores filled by TFX's own helpers,
# in each TFX environment (its own pytest.ini: tests/conftest.py needs Airflow); ~10 s each.
test-tfx-unit: $(TFX_VENVS:%=%/.installed)
	for line in $(TFX_LINES); do \
		.venv-$$line/bin/python -m pytest -c tests/tfx_unit/pytest.ini tests/tfx_unit -q -p no:cacheprovider || exit 1; \
	done

# Benchmarks print ratios against baselines measured in the same run; the report goes to
# var/bench/RESULTS.md (bench/RESULTS.md is the committed, commented copy). About 40 minutes
# here, and 22 more for the load benchmark (bench/load.py: 21 runs in a burst, then one after
# another); BENCH_ARGS=--quick stops the scale curve at 100k rows and runs the load small (4 runs).
bench: setup
	$(AIRFLOW_VENV)/bin/python bench/report.py $(BENCH_ARGS)

# On a host with an NVIDIA GPU (docs/gpu-host.md): each TFX line's penguin Keras Trainer on
# the GPU, forked from the node server, against the CPU; adds each line's CUDA wheels under
# var/gpu-check/ first. GPU_CHECK_ARGS=--no-install uses those there; --cpu-only runs without
# a GPU. Not part of `make test`.
gpu-check: $(AIRFLOW_VENV)/.installed $(TFX_VENVS:%=%/.installed)
	$(AIRFLOW_VENV)/bin/python bench/gpu_check.py $(GPU_CHECK_ARGS)

# Re-resolve the locks. The TFX locks are resolved for python 3.10, as TFX declares, with the
# overrides their cp311 wheels need (requirements/tfx1*-overrides.txt); TFX 1.16's for
# manylinux_2_28, the newest wheels glibc 2.36 loads.
locks: $(AIRFLOW_VENV)/.installed
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_17 --python-version 3.11 \
		requirements/airflow.in -o requirements/airflow.lock
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_17 --python-version 3.10 \
		--override requirements/tfx115-overrides.txt requirements/tfx115.in -o requirements/tfx115.lock
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_28 --python-version 3.10 \
		--override requirements/tfx116-overrides.txt requirements/tfx116.in -o requirements/tfx116.lock

clean:
	rm -rf $(AIRFLOW_VENV) $(TFX_VENVS) var
