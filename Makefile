# resurv: the two commands a new user needs are `make run` and `make test`.
# Both set up .venv themselves (finding a Python >= 3.12) on first use.
ENV := scripts/ensure-env
STUDY ?= models/grazi2000.toml
ARGS ?=

.PHONY: run audit test test-slow bench bench-all lint clean

run:                ## the flagship reanalysis, writing results/grazi2000/
	@py=$$($(ENV)) && $$py -m resurv run $(STUDY) --force $(ARGS)

audit:              ## the audit of the printed figures only
	@py=$$($(ENV)) && $$py -m resurv audit $(STUDY) $(ARGS)

test:               ## the default test suite (fast; what CI runs)
	@py=$$($(ENV)) && $$py -m pytest -q -n auto $(ARGS)

test-slow:          ## long statistical checks: SBC, recovery, calibration
	@py=$$($(ENV)) && $$py -m pytest -q -m slow -p no:cacheprovider $(ARGS)

bench:              ## the speed figures of the README (cold/warm runs, compile vs data, tests)
	@py=$$($(ENV)) && $$py benchmarks/bench_flagship.py --cold \
		&& $$py benchmarks/bench_flagship.py --cold --study benchmarks/studies/two_arm_km.toml \
		&& $$py benchmarks/bench_compile_size.py && $$py benchmarks/bench_tests.py

bench-all:          ## every benchmark, printing ratios measured side by side
	@py=$$($(ENV)) && for b in benchmarks/bench_*.py; do echo "== $$b"; $$py $$b || exit 1; done

lint:               ## ruff, and the import-layer contracts (lint-imports)
	@py=$$($(ENV)) && $$py -m ruff check src tests benchmarks && $$py -m ruff format --check src tests benchmarks \
		&& $$(dirname $$py)/lint-imports

clean:
	rm -rf .venv build src/*.egg-info .pytest_cache
