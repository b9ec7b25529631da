"""`python -m starttls_check`."""

from .cli import main

main()
