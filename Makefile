# Diwan: `make run` serves the demo at http://127.0.0.1:5000; `make test` runs the whole suite.
.PHONY: bootstrap run test test-fast lint bench translations check-vendor clean

bootstrap:
	@.ci/bootstrap

run: bootstrap
	.venv/bin/diwan demo

# the database tests on two workers (each file whole on one, each worker its own PostgreSQL, slapd and SQLite files),
# then the browser walks one at a time (Chromium and the live server want the machine's time)
test: bootstrap check-vendor lint
	.venv/bin/pytest -q -n 2 --dist loadfile -m "not browser" --durations=15
	.venv/bin/pytest -q -m browser --durations=10

# the inner loop: no browser, nothing marked slow (both databases still)
test-fast: bootstrap
	.venv/bin/pytest -q -m "not browser and not slow"

lint: bootstrap
	.venv/bin/ruff check intranet jobs tests wsgi.py

bench: bootstrap
	.venv/bin/python tests/bench/run.py

# after changing translatable text: extract, merge into the catalogues, then translate the new entries
translations: bootstrap
	.venv/bin/pybabel extract -F intranet/babel.cfg -k _l -k lazy_gettext -o intranet/translations/messages.pot .
	.venv/bin/pybabel update -i intranet/translations/messages.pot -d intranet/translations --no-fuzzy-matching
	.venv/bin/pybabel compile -f -d intranet/translations

check-vendor:
	@cd static/vendor && sha256sum --quiet -c SHA256SUMS

clean:
	rm -rf .venv instance .pytest_cache
