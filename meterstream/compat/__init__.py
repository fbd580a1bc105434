"""A way in for apps built on the original tracker: its `record_usage` call and its router's shapes.

`tracker.py` is the call (over UsageEmitter), `legacy.py` the translations (pure), and
`meterstream/api/routes/compat.py` the four routes under `/compat`.
"""

from meterstream.compat.tracker import UsageTracker, usage_tracker

__all__ = ["UsageTracker", "usage_tracker"]
