"""Build-time errors that point at DSL source."""
from __future__ import annotations

import linecache
from pathlib import Path


class DSLError(SyntaxError):
    """A construct the DSL does not allow, reported as file:line:column with the source line,
    a caret under the offending text, and a hint. Subclassing SyntaxError makes Python's own
    traceback show the line and caret too."""

    def __init__(self, message: str, file: str, line: int, col: int, hint: str = ""):
        text = linecache.getline(file, line).rstrip("\n") if file else ""
        super().__init__(message, (file, line, col + 1, text))
        self.message, self.hint, self.col = message, hint, col

    def __str__(self):
        return self.headline() + (f"\n    {self.text}\n    {' ' * self.col}^"
                                  if self.text.strip() else "")

    def headline(self) -> str:
        """The error in one line: file:line:column: message; hint: ..."""
        out = f"{_shown(self.filename)}:{self.lineno}:{self.col + 1}: {self.message}"
        return out + (f"; hint: {self.hint}" if self.hint else "")


def _shown(file) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        return str(Path(file).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError, TypeError):
        return str(file)


class DeclarationError(ValueError):
    """A distribution declaration that does not fit its DSL functions."""


class UserError(Exception):
    """A mistake in what the user asked for (a missing file, a file that declares nothing, an
    output folder that cannot be written, an exception raised while a DSL file loads): the
    command line reports it as one line, `file:line: message` where it has a place (where)."""

    def __init__(self, message: str, where: str = ""):
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
