"""Errors a user can act on. Each message is one line that says what to do.

Library code raises these; the CLI and the UI catch ``KildeError`` in one place and show
the message without a traceback.
"""


class KildeError(Exception):
    """Base for errors whose message is meant for the user."""

    exit_code = 1  # what the CLI exits with


class UsageError(KildeError):
    """The user asked for something that cannot be done as asked: an empty question, a filter
    naming a document, publisher or year the index does not have."""

    exit_code = 2


class IndexEmptyError(KildeError):
    """The index holds no documents."""


class ConfigError(KildeError):
    """A setting is unknown or has a bad value."""


class IndexMissingError(KildeError):
    """No index at the given folder."""


class IndexMismatchError(KildeError):
    """The index was built with another embedder or format version."""


class ModelNotFoundError(KildeError):
    """An embedding model is neither installed nor a local folder."""


class SkipFile(KildeError):
    """A source file cannot be read; ingest names it and goes on with the rest.

    ``code`` says why in a word the UI translates (see ``SKIP_CODES``); the message is the
    line the CLI prints."""

    def __init__(self, message: str, code: str = "unreadable"):
        super().__init__(message)
        self.code = code


# Why a file was skipped: the codes SkipFile carries.
SKIP_CODES = (
    "unsupported",
    "missing",
    "password",
    "encryption",
    "damaged_pdf",
    "no_pages",
    "scanned",
    "empty",
    "no_text",
    "binary",
    "damaged_utf16",
    "unreadable",
    "damaged_docx",
)


class ReaderModelError(KildeError):
    """The reader's model files are missing or damaged."""
