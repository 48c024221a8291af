"""Adapters to external systems."""
