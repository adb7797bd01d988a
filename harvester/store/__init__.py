"""What a run keeps: the record serialiser, manifest, JSON lines, SQLite state, lock, log, report."""
