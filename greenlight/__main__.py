"""`python -m greenlight`: the same command as `greenlight`."""

from greenlight.cli import main

raise SystemExit(main())
