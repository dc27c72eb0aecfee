"""`jzfs name inspect`: every field of a record, and whether it verifies (pure, handed `now`)."""

from __future__ import annotations

import time
from typing import Any

from ..errors import InvalidInput
from .crypto import PublicKey
from .name import IpnsName
from .record import IpnsEntry, inspect_entry, validate_record


def inspect_record(raw: bytes, *, verify: str | None = None, now: float | None = None) -> dict[str, Any]:
    """Kubo-like `{"Entry": {...}, "Validation": {"Valid", "Reason", "Name"}}`. The name to
    verify against is `verify`, else the one derived from an embedded public key."""
    info = inspect_entry(raw)
    name: IpnsName | None = None
    if verify:
        name = IpnsName.parse(verify)
    else:
        entry = IpnsEntry.decode(raw)
        if entry.pub_key:
            try:
                name = IpnsName.from_public_key(PublicKey.from_protobuf(entry.pub_key))
            except InvalidInput:
                name = None
    validation: dict[str, Any] = {"Valid": False, "Reason": "", "Name": str(name) if name else ""}
    if name is None:
        validation["Reason"] = "not verified: the record does not embed its key (pass --verify NAME)"
    else:
        try:
            validate_record(name, raw, now=time.time() if now is None else now)
            validation["Valid"] = True
        except InvalidInput as exc:
            validation["Reason"] = str(exc)
    return {"Entry": info, "Validation": validation}
