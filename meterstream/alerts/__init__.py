"""Alerts: the feed of AlertRecords read from `usage.alerts`, and their signed webhook deliveries.

Pure rules in `retry.py` (what a try's outcome means, when to try again); SQLite in
`store.py`; the Kafka relay in `relay.py`; the HTTP sender in `delivery.py`; `runner.py`
runs relay and delivery on a thread of their own beside the API.
"""
