"""The pack engine: append-only pack files and a log-structured index (see store.py)."""

from .store import PackBlockstore

__all__ = ["PackBlockstore"]
