"""``python -m remoroo``."""

from remoroo.cli.app import main

main()
