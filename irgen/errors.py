"""Build-time errors that point at DSL source."""
from __future__ import annotations

import linecache


class DSLError(SyntaxError):
    """A construct the DSL does not allow, reported as file:line:column with the source line,
    a caret under the offending text, and a hint. Subclassing SyntaxError makes Python's own
    traceback show the line and caret too."""

    def __init__(self, message: str, file: str, line: int, col: int, hint: str = ""):
        text = linecache.getline(file, line).rstrip("\n") if file else ""
        super().__init__(message, (file, line, col + 1, text))
        self.message, self.hint, self.col = message, hint, col

    def __str__(self):
        out = f"{self.filename}:{self.lineno}:{self.col + 1}: {self.message}"
        if self.text:
            out += f"\n    {self.text}\n    {' ' * self.col}^"
        if self.hint:
            out += f"\nhint: {self.hint}"
        return out


class DeclarationError(ValueError):
    """A distribution declaration that does not fit its DSL functions."""
