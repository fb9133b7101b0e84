"""Service functions: they change state and flush, but never commit.

The request handler (or job) that calls them commits once, or rolls back.
"""


class ServiceError(Exception):
    """A business rule refused the change; `field` names the form field to blame."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
