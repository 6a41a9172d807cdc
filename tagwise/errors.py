"""The one base of every error tagwise reports to a person.

A `TagwiseError`'s message is the whole story in plain words (the file, row, entry or
sync concerned, and what to do); the CLI prints it once, as one line headed `error:`, and
exits with the error's code. Anything else that escapes is a bug and keeps its traceback.
"""


class TagwiseError(Exception):
    """A problem a person can act on; `exit_code` is what the CLI exits with."""

    exit_code = 1
