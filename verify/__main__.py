"""python -m verify <stack>: see verify/cli.py."""

from verify.cli import main

raise SystemExit(main())
