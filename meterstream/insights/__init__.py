"""Cost insights: savings recommendations, spend anomalies, distributions and a month forecast.

The rules live in pure modules (recommendations.py, anomaly.py, forecast.py, stats.py), tested
without infrastructure; queries.py holds the thin ClickHouse side (SQL as data) and
service.py runs them. Anomaly detection runs in the stream, inside the budget ledger.
"""
