"""`python -m app` is the `alaya` command."""

import sys

from app.cli import main

sys.exit(main())
