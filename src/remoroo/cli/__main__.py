"""``python -m remoroo.cli``."""

from remoroo.cli.app import main

main()
