"""The self-contained demo: a live test-pattern origin and the `demo` command's runner."""
