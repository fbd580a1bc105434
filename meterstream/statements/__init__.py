"""Monthly statements: what a tenant (or one of its own customers) used and owes for a month.

The rules are pure modules, tested without infrastructure:

- `periods.py`: months, and when one closes (the grace period);
- `lines.py`: line items from aggregated usage, and the arithmetic of adjustments;
- `ledger.py`: which open statement a closed month's late usage goes on;
- `model.py`: the statement itself, its canonical JSON and content hash, its id;
- `render.py`: the exports (JSON, CSV, a Beancount ledger, an hledger journal).

Around them, thin: `queries.py` (the ClickHouse SQL, as data), `book.py` (building, listing,
reading frozen statements and closing: the one place that runs queries and writes), `lease.py`
(one closer at a time, in the shared SQLite file), `closer.py` (the background close, in
`serve`, of months whose grace period has passed), `settings.py` (grace, attributes, accounts).
"""
