"""The package's exception root; every error meterstream raises on purpose derives from it."""


class MeterstreamError(Exception):
    """Base class of meterstream's own errors."""


class InvalidUsageEvent(MeterstreamError, ValueError):
    """A usage event failed validation; `errors` lists each field and reason."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))


class InfrastructureUnavailable(MeterstreamError, RuntimeError):
    """A required local tool or service (Java, Maven, the broker) is missing or down."""
