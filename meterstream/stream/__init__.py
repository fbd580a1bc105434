"""The Faust stream: validates, de-duplicates and prices events, keeps live session totals."""

from meterstream.stream.processor import DeadLetter, MeteringProcessor, Outcome

__all__ = ["DeadLetter", "MeteringProcessor", "Outcome"]
