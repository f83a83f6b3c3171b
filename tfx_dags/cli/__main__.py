"""``python -m tfx_dags.cli``: the ``tfx-dags`` command."""

import sys

from tfx_dags.cli.main import main

sys.exit(main())
