"""Errors a user can act on. Each message is one line that says what to do.

Library code raises these; the CLI and the UI catch ``KildeError`` in one place and show
the message without a traceback.
"""


class KildeError(Exception):
    """Base for errors whose message is meant for the user."""


class ConfigError(KildeError):
    """A setting is unknown or has a bad value."""


class IndexMissingError(KildeError):
    """No index at the given folder."""


class IndexMismatchError(KildeError):
    """The index was built with another embedder or format version."""


class ModelNotFoundError(KildeError):
    """An embedding model is neither installed nor a local folder."""


class SkipFile(KildeError):
    """A source file cannot be read; ingest names it and goes on with the rest."""


class ReaderModelError(KildeError):
    """The reader's model files are missing or damaged."""
