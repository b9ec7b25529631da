"""`python -m starttls_check`."""

from .cli.command import main

main()
