"""``python -m ophsh``: the same as the ``ophsh`` command."""

import sys

from ophsh.cli import main

sys.exit(main())
