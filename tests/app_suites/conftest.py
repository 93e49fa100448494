"""Nothing here is a pytest test: run.py runs each app's own suite with its own runner."""

collect_ignore_glob = ["*"]
