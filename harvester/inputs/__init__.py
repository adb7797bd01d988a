"""Where pages come from: PAGE arguments, directories, lists, WARC files and fetches."""
