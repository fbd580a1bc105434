"""Budgets: definitions, live spend per period, alerts at thresholds, and reservations before a call."""
