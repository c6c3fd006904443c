"""Placeholder package; filled by the framework issue."""
