from .core import Node

__all__ = ["Node"]
