"""What services import to emit usage: the emitter (confluent-kafka) with its on-disk spool."""

from meterstream.producers.emitter import UsageEmitter
from meterstream.producers.reservations import BudgetExceeded, Reservation, TooManyReservations
from meterstream.producers.spool import Spool

__all__ = ["BudgetExceeded", "Reservation", "Spool", "TooManyReservations", "UsageEmitter"]
