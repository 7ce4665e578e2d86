import sys

from rgpu_exec.cli import main

sys.exit(main())
