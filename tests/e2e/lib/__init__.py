"""Shared helpers for the sipserver end-to-end tests (see harness.py)."""
