"""Why a spec test did not pass: the runner's own gaps are kept apart from server deviations."""

from __future__ import annotations


class Unsupported(Exception):
    """The runner does not implement something the test uses (an operation, an option...).

    Such a test is *left out* with this reason, never counted as a server failure.
    """
