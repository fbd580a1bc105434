"""What services import to emit usage: the emitter (confluent-kafka)."""

from meterstream.producers.emitter import DeliveryCounts, EmitQueueFull, UsageEmitter

__all__ = ["DeliveryCounts", "EmitQueueFull", "UsageEmitter"]
