"""`python -m reference train ...` trains a poet; `python -m reference write ...` writes poems."""

import sys

from reference.cli import main

sys.exit(main())
