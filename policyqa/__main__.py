"""`python -m policyqa`: the same command line as the `policyqa` script."""

from policyqa.cli import main

raise SystemExit(main())
