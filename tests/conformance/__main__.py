"""python -m tests.conformance (from the project's root): see tests/conformance/run.py."""

import sys

from tests.conformance.run import main

sys.exit(main())
