"""dialectic serve: the web face of the runner, store and checkpoints the CLI uses."""
