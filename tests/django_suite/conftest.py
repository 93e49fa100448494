"""Nothing here is a pytest test: the harness runs Django's suite with Django's runtests.py."""

collect_ignore_glob = ["*"]
