"""Fuzzing the loaders and the cleaning code (atheris), outside the default test run:
`python -m tests.fuzz.run --seconds 60`."""
