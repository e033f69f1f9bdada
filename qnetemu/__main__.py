import sys

from qnetemu.cli import main

sys.exit(main())
