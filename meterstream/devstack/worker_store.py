"""What a stopped worker keeps on disk for one of its tables (tests and benchmarks look inside).

Faust puts each partition of a table in a RocksDB folder of its own,
`<data_dir>/worker/v1/tables/<table>-<partition>.db`; a running worker holds its lock.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from rocksdict import AccessType, Rdict

# Where Faust notes the changelog offset a partition's store has applied; not a table key.
OFFSET_KEY = b"__faust\0offset__"


def table_folders(data_dir: Path, table: str) -> list[Path]:
    return sorted((data_dir / "worker").glob(f"**/{table}-*.db"))


def stored_keys(data_dir: Path, table: str) -> set[str]:
    """Every key of `table`, all partitions (Faust stores a str key as JSON)."""
    keys: set[str] = set()
    for folder in table_folders(data_dir, table):
        db = Rdict(str(folder), access_type=AccessType.read_only())
        try:
            keys.update(orjson.loads(key) for key in db.keys() if key != OFFSET_KEY)
        finally:
            db.close()
    return keys


def stored_bytes(data_dir: Path, table: str) -> int:
    """The size of `table`'s folders on disk (data files, logs and manifests)."""
    return sum(path.stat().st_size for folder in table_folders(data_dir, table)
               for path in folder.rglob("*") if path.is_file())
