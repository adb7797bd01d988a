"""Runs beyond one process: shards on a process pool or Dask, and the run the CLI makes."""
