"""``python -m worker`` is the ``rerankq`` command."""

import sys

from worker.cli import main

sys.exit(main())
