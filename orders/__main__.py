import sys

from orders.entrypoints.cli import main

sys.exit(main())
