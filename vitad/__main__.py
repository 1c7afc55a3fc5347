import sys

from vitad.cli import main

sys.exit(main())
