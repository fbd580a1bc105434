"""Errors of the SDK adapters."""

from meterstream.errors import MeterstreamError


class AdapterError(MeterstreamError, ValueError):
    """An SDK object cannot be turned into a usage event; the message says what is missing."""
