"""What a run keeps: serialiser, manifest, JSON lines, SQLite state, lock, log, report."""
