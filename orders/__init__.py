"""orderbot's order service: it owns the orders (see ARCHITECTURE.md)."""
