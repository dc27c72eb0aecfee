"""Storage: blockstore engines, pins, and the versioning refs store."""

from .base import Blockstore, MemoryBlockstore

__all__ = ["Blockstore", "MemoryBlockstore"]
