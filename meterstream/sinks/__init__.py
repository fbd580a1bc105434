"""Sinks that store priced usage: the contract (base) and the ClickHouse sink."""

from meterstream.sinks.base import Sink

__all__ = ["Sink"]
