"""What the harness needs to know about one reusable app's test suite."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class AppSuite:
    #: The name run.py and the README use (the PyPI project name).
    name: str
    #: The pinned release: its sdist gives the tests, its wheel (installed by the nox session
    #: from the same pin, see noxfile.APP_SUITE_REQUIREMENTS) the code under test.
    version: str
    #: The app's import package, left out of the unpacked sdist so the tests import the
    #: installed release rather than a copy next to them (unless ``tests_in_package``).
    package: str
    #: How the app's own runner is started, from the unpacked sdist's top folder, with this
    #: interpreter (``python`` + these arguments). pytest runs get
    #: ``--continue-on-collection-errors``: a module that cannot be imported on one backend
    #: counts as one error instead of stopping the whole run.
    command: tuple[str, ...]
    #: Environment for each run (``APP_SUITES_BACKEND`` is set by run.py).
    env: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    #: What the tests need besides the app (installed by the nox session).
    requirements: tuple[str, ...] = ()
    #: Where the app's project says how its tests are run (for the docs).
    how: str = ""
    #: The tests live inside the package (``guardian/testapp/tests``): the package is then
    #: kept in the unpacked sdist, and the runner, started there as the maintainers start it
    #: from a checkout, imports that copy of the release instead of the installed one (the
    #: same files; pytest puts the sdist's folder first on ``sys.path``).
    tests_in_package: bool = False

    @property
    def pin(self):
        return f"{self.name}=={self.version}"

    def wanted(self, path):
        """Members of the sdist unpacked: everything but the package and build metadata."""
        top = path.split("/")[0]
        if top.endswith(".egg-info"):
            return False
        return self.tests_in_package or top != self.package
