"""Names of dataset repositories and refs (pure: the refs stores and the sync protocol's core
both check names with these, so the core needs no database module).

Names: printable, no spaces, no `@` (it separates repo and ref on the command line), no `..`,
bounded length (they travel in the sync protocol).
"""

from __future__ import annotations

import re

from ..config import VERSIONING_LIMITS
from ..errors import InvalidInput

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_REF_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")


def check_repo_name(name: str, *, max_len: int = VERSIONING_LIMITS.max_ref_name_len) -> str:
    if not isinstance(name, str) or len(name) > max_len or not _NAME_RE.match(name):
        raise InvalidInput(f"invalid repository name {name!r} (letters, digits, '._-')")
    return name


def check_ref_name(ref: str, *, max_len: int = VERSIONING_LIMITS.max_ref_name_len) -> str:
    if (not isinstance(ref, str) or len(ref) > max_len or not _REF_RE.match(ref)
            or ".." in ref or "//" in ref or ref.endswith(("/", ".lock"))):
        raise InvalidInput(f"invalid ref name {ref!r}")
    return ref
