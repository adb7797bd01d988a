"""Runs beyond one process: shards on a process pool or Dask, their parts, the run as the CLI makes it."""
