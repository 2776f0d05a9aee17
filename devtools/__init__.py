"""Developer tooling: starting the whole stack for `make run` and the end-to-end tests."""
