"""``python -m scripts.cli <task> ...``: the console command without an installed entry point."""

from scripts.cli.main import main

main()
