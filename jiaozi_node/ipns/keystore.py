"""Keys in the repo, as Kubo keeps them: `$JZFS_PATH/keystore/key_<base32(name)>` holding the
libp2p `PrivateKey` protobuf, file mode 0600 in a 0700 directory. `self` is the node's own key
(`Identity.PrivKey` in the config) and cannot be removed, renamed over, or generated.

    ks = Keystore.for_repo(repo)
    ks.generate("blog")                 # -> KeyInfo(name, IpnsName)
    ks.list()                           # self first, then by name
    ks.private_key("blog")              # PrivateKey (raises NotFound)
    ks.export("blog", "pem-pkcs8-cleartext") / ks.import_key("x", data, fmt)

Export/import formats are Kubo's: `libp2p-protobuf-cleartext` (the raw protobuf) and
`pem-pkcs8-cleartext` (PKCS#8 PEM, Ed25519/RSA/ECDSA).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from .crypto import ED25519, RSA, PrivateKey
from .name import IpnsName

SELF = "self"
FORMATS = ("libp2p-protobuf-cleartext", "pem-pkcs8-cleartext")
KEY_TYPES = ("ed25519", "rsa")


@dataclass(frozen=True)
class KeyInfo:
    name: str
    id: IpnsName

    def kubo_json(self) -> dict[str, str]:
        return {"Name": self.name, "Id": str(self.id)}


def _file_name(name: str) -> str:
    return "key_" + base64.b32encode(name.encode()).decode().rstrip("=").lower()


def _check_name(name: str) -> None:
    if not name or "/" in name or name.startswith(".") or len(name) > 200:
        raise InvalidInput(f"invalid key name {name!r}")


class Keystore:
    def __init__(self, path: Path, self_key: PrivateKey) -> None:
        self.path = path
        self._self = self_key

    @classmethod
    def for_repo(cls, repo: Any) -> Keystore:
        priv = base64.b64decode(repo.config["Identity"]["PrivKey"])
        return cls(Path(repo.path) / "keystore", PrivateKey.from_protobuf(priv))

    def _file(self, name: str) -> Path:
        return self.path / _file_name(name)

    def has(self, name: str) -> bool:
        return name == SELF or self._file(name).exists()

    def private_key(self, name: str) -> PrivateKey:
        if name == SELF:
            return self._self
        _check_name(name)
        try:
            raw = self._file(name).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no key named {name!r}") from None
        return PrivateKey.from_protobuf(raw)

    def info(self, name: str) -> KeyInfo:
        return KeyInfo(name, IpnsName.from_public_key(self.private_key(name).public_key))

    def list(self) -> list[KeyInfo]:
        out = [self.info(SELF)]
        if self.path.is_dir():
            names = []
            for p in self.path.iterdir():
                if not p.name.startswith("key_"):
                    continue
                body = p.name[4:].upper()
                try:
                    names.append(base64.b32decode(body + "=" * (-len(body) % 8)).decode())
                except (ValueError, UnicodeDecodeError):
                    continue
            out += [self.info(n) for n in sorted(names)]
        return out

    def _write(self, name: str, key: PrivateKey, *, overwrite: bool = False) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        target = self._file(name)
        tmp = self.path / f".{target.name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, key.to_protobuf())
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, target)
            return
        try:
            os.link(tmp, target)  # fails if the name is taken: never overwrite by accident
        except FileExistsError:
            raise InvalidInput(f"key with name {name!r} already exists") from None
        finally:
            os.unlink(tmp)

    def add(self, name: str, key: PrivateKey) -> KeyInfo:
        _check_name(name)
        if name == SELF:
            raise InvalidInput("cannot create a key named 'self'")
        self._write(name, key)
        return KeyInfo(name, IpnsName.from_public_key(key.public_key))

    def generate(self, name: str, key_type: str = "ed25519", *, size: int = 2048) -> KeyInfo:
        if key_type not in KEY_TYPES:
            raise InvalidInput(f"unknown key type {key_type!r} (ed25519 or rsa)")
        _check_name(name)
        if self.has(name):
            raise InvalidInput(f"key with name {name!r} already exists")
        return self.add(name, PrivateKey.generate(key_type, size=size))

    def remove(self, name: str) -> KeyInfo:
        if name == SELF:
            raise InvalidInput("cannot remove key with name 'self'")
        info = self.info(name)
        self._file(name).unlink()
        return info

    def rename(self, old: str, new: str, *, force: bool = False) -> tuple[KeyInfo, bool]:
        """Returns the key under its new name and whether an existing key was overwritten."""
        if SELF in (old, new):
            raise InvalidInput("cannot rename key with name 'self'")
        _check_name(new)
        key = self.private_key(old)
        existed = self.has(new)
        if existed and not force:
            raise InvalidInput(f"key with name {new!r} already exists (use --force)")
        self._write(new, key, overwrite=True)
        if old != new:
            self._file(old).unlink()
        return KeyInfo(new, IpnsName.from_public_key(key.public_key)), existed

    def export(self, name: str, fmt: str = FORMATS[0]) -> bytes:
        key = self.private_key(name)
        if fmt == "libp2p-protobuf-cleartext":
            return key.to_protobuf()
        if fmt == "pem-pkcs8-cleartext":
            if key.type not in (ED25519, RSA) and key.type_name != "ecdsa":
                raise InvalidInput(f"{key.type_name} keys cannot be exported as PKCS#8 PEM")
            return key.to_pem()
        raise InvalidInput(f"unknown key format {fmt!r} ({', '.join(FORMATS)})")

    def import_key(self, name: str, data: bytes, fmt: str = FORMATS[0], *,
                   allow_any_type: bool = False) -> KeyInfo:
        if fmt == "libp2p-protobuf-cleartext":
            key = PrivateKey.from_protobuf(data)
        elif fmt == "pem-pkcs8-cleartext":
            key = PrivateKey.from_pem(data)
        else:
            raise InvalidInput(f"unknown key format {fmt!r} ({', '.join(FORMATS)})")
        if key.type not in (ED25519, RSA) and not allow_any_type:
            raise InvalidInput(f"key type {key.type_name} is not allowed (use --allow-any-key-type)")
        if self.has(name):
            raise InvalidInput(f"key with name {name!r} already exists")
        return self.add(name, key)

    def find_by_name_id(self, name: IpnsName) -> str | None:
        """The local key name whose IPNS name is `name`, if we hold it."""
        for info in self.list():
            if info.id == name:
                return info.name
        return None
