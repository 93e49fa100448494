#!/usr/bin/env bash
# One entry point for a new machine (see README.rst):
#   ./dev.sh example   set up a virtualenv, migrate and run the example site on the embedded server
#   ./dev.sh test      run the whole test suite (the default nox sessions: "tests" for every
#                      Django version we support, the CI subset of Django's own suite, MongoDB's
#                      specification tests, "lint" and "typecheck"); extra arguments go to nox
set -euo pipefail
cd "$(dirname "$0")"

# mongoeco (the embedded server) needs Python 3.13+. Find one even where pyenv has it installed
# but not activated (its python3.13 shim then exists and fails).
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.13 python3.14 python3 \
        "$HOME"/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 13))' >/dev/null 2>&1; then
            "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    echo "error: Python 3.13 or newer is required (set PYTHON=/path/to/python3.13)" >&2
    return 1
}

PY=$(find_python)
# nox looks interpreters up on PATH by name: put the one we found first.
export PATH="$(dirname "$PY"):$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1

venv() {
    if [ ! -x .venv/bin/python ]; then
        "$PY" -m venv .venv
    fi
    .venv/bin/python -m pip install -q "$@"
}

case "${1:-}" in
    test)
        shift
        # The admin's browser test needs Debian's chromium + chromium-driver, system packages:
        # CI installs them (a failed install is fatal: the test would be skipped); elsewhere
        # we ask first, and without them the browser test is skipped with a warning.
        if [ -n "${CI:-}" ]; then
            bash .ci/install-browser.sh || exit 1
        elif ! bash .ci/install-browser.sh --check; then
            answer=""
            if [ -t 0 ]; then
                read -r -p "Install Debian's chromium and chromium-driver (apt-get, needs root) for the admin's browser test? [y/N] " answer || true
            fi
            if [[ "$answer" == [yY]* ]] && bash .ci/install-browser.sh; then
                :
            else
                echo "warning: no chromium/chromedriver: the admin browser test will be skipped" \
                    "(.ci/install-browser.sh installs them)" >&2
            fi
        fi
        venv "nox>=2024.10"
        exec .venv/bin/nox "$@"
        ;;
    example)
        shift
        venv -e ".[embedded]" -r example_project/requirements.txt
        cd example_project
        ../.venv/bin/python manage.py migrate --no-input
        if [ -t 0 ] && ! ../.venv/bin/python manage.py shell --no-imports -c \
            "from django.contrib.auth.models import User; import sys; sys.exit(not User.objects.filter(is_superuser=True).exists())"; then
            echo "No admin user yet: create one to log in to /admin/."
            ../.venv/bin/python manage.py createsuperuser
        fi
        exec ../.venv/bin/python manage.py runserver "${@:-127.0.0.1:8000}"
        ;;
    *)
        echo "usage: ./dev.sh test [nox args] | ./dev.sh example [addr:port]" >&2
        exit 2
        ;;
esac
