"""The command line's exit codes: 0 ok, 1 AWS error, 2 bad input (a malformed order id too), 3 no execution (status:
queued, purged, lost in a reset, expired or unknown), 4 timed out waiting."""

EXIT_OK, EXIT_AWS, EXIT_INPUT, EXIT_NOT_FOUND, EXIT_TIMEOUT = 0, 1, 2, 3, 4
