"""Errors a user can act on.

Every problem with the user's input is raised as :class:`InputError` with a one-line
message that names the file, column or row and says what to do. The CLI turns it into
that line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input: the message is shown to the user as is (one line)."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class InputWarning(UserWarning):
    """The analysis continues, but the user should know (printed as one line)."""
