"""Errors that end a run with one line on stderr and exit code 2. Imports nothing."""


class UsageError(Exception):
    """Something the user asked for cannot be done as asked (arguments, files, policy)."""


EXIT_USAGE = 2  # also a passing run whose --output file could not be written
NO_TARGETS = (
    "give at least one domain to check, --input FILE (- for stdin), "
    "a --config listing some, or --demo"
)
