"""Refuse, in one line, a Python older than 3.11 (written to run on old Pythons too)."""

import sys

if sys.version_info < (3, 11):
    sys.stderr.write(
        "kindred: Python 3.11 or newer is needed (found %s); install it and run `make PYTHON=python3.11 run`.\n"
        % sys.version.split()[0]
    )
    sys.exit(1)
