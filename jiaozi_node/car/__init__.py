"""CAR files (pure): a sans-IO CAR v1/v2 reader, a v1 writer, and the trustless-gateway traversal
that decides which blocks a CAR of `CID[/path]` carries and in what order."""

from .reader import CarDecoder, CarHeader, iter_car, read_car
from .traverse import dag_blocks
from .writer import encode_header, encode_section, write_car

__all__ = ["CarDecoder", "CarHeader", "iter_car", "read_car", "dag_blocks", "encode_header",
           "encode_section", "write_car"]
