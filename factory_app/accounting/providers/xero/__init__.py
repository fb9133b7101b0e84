"""Xero: the adapter (adapter.py) and its webhooks (webhooks.py)."""
from .adapter import XeroProvider

__all__ = ["XeroProvider"]
