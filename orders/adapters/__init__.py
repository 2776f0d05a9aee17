"""Adapters: how the order service talks to databases and other systems."""
