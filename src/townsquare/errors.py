"""Errors that speak to people: each carries a one-line reason naming the field and the fix."""


class TownsquareError(Exception):
    """Base for every error shown to a user as one line (no traceback unless --debug)."""


class BadInput(TownsquareError):
    """Input a user gave that we cannot use; the message names the field and the fix."""

    def __init__(self, field: str, problem: str, fix: str = ""):
        self.field, self.problem, self.fix = field, problem, fix
        super().__init__(f"{field}: {problem}" + (f" — {fix}" if fix else ""))


class NotFound(TownsquareError):
    """A thing the user named does not exist."""
