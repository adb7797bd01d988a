"""Helpers shared by the test modules (servers, media, paths)."""
