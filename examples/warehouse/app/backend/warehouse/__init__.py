"""Warehouse: the sample inventory app that greenlight deploys."""
