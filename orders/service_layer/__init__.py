"""Use cases of the order service; every change to an order goes through here."""
