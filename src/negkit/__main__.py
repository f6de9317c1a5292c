import sys

from negkit.cli import main

sys.exit(main())
