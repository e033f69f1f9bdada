"""User-facing errors.

Every mistake a user can make (a bad scenario, an unknown node, an impossible
value, a missing file) is raised as :class:`UserError`. The CLI prints its one
line and exits with status 2; nothing else prints a traceback for it.
"""

from __future__ import annotations

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake in the user's input, reported as one line.

    Parameters
    ----------
    message
        What is wrong, in words a user understands.
    file
        The file the mistake is in, when there is one.
    field
        The field path inside that file, e.g. ``links[3].length_km``.
    """

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.message = message
        self.file = file
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        text = f"{where}: {self.message}" if where else self.message
        return " ".join(text.split())
