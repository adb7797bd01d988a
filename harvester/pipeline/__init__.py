"""The run loop: pages to videos to media to a manifest, the same serial or per shard."""
