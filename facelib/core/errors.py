"""The one base class of the mistakes a user can make (bad params, data, paths).

The `facelib` command prints these as one line naming the file or key and exits with 2;
anything else is a bug and keeps its traceback.
"""


class FacelibError(Exception):
    """A problem with what the user gave facelib, with a message that says how to fix it."""


class UsageError(FacelibError):
    """A mistake in what the user asked for (a path, a file, an argument)."""
