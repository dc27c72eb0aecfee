"""The user's config file (`$JZFS_PATH/config`, Kubo's JSON layout), parsed once into typed,
frozen sections. Pure: no I/O (the repo reads the file and hands the dict in).

    settings = UserConfig.parse(repo.config)     # InvalidInput naming the key on a wrong type
    settings.routing.type, settings.addresses.swarm, settings.gateway.fetch, ...

`Repo.settings` holds the parsed value (re-parsed after `Repo.set_config`), `Node.settings` hands
it to every part of the node. Missing keys take the defaults below (Kubo's where Kubo has the
key): the field defaults of the dataclasses below, each written once (parse takes them from
`UserConfig()`), themselves from `config.py` where the node uses the value elsewhere too
(addresses, routing type, reprovide strategy); nothing else reads the raw dict with its own
inline default. Limits (sizes, counts, timeouts) are not user settings: they stay in
`config.py`'s dataclasses (`Defaults`). The two do not repeat each other: the only keys that
touch a limit are Kubo's `Ipns.RepublishPeriod/RecordLifetime/ResolveCacheSize` (Go durations /
a count, unset = keep the limit), applied over `Defaults.ipns` in one place
(`ipns/service.limits_from_config`).

Which keys exist and what they do: README "Configuration".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import field
from types import MappingProxyType
from typing import Any

from .config import (
    DEFAULT_API_ADDR,
    DEFAULT_GATEWAY_ADDR,
    DEFAULT_REPROVIDER_STRATEGY,
    DEFAULT_ROUTING_TYPE,
    DEFAULT_SWARM_ADDRS,
    REPROVIDER_STRATEGIES,
    ROUTING_TYPES,
)
from .errors import InvalidInput
from .frozen import dataclass  # dataclasses.dataclass(frozen=True) without its exec() per class

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Addresses:
    swarm: tuple[str, ...] = tuple(DEFAULT_SWARM_ADDRS)
    api: str = DEFAULT_API_ADDR  # "" = no API server
    gateway: str = DEFAULT_GATEWAY_ADDR  # "" = no gateway


@dataclass(frozen=True)
class Api:
    allowed_origins: tuple[str, ...] | None = None  # API.HTTPHeaders.Access-Control-Allow-Origin
    allowed_hosts: tuple[str, ...] = ()
    authorizations: Any = None  # API.Authorizations, checked by api/access.parse_authorizations


@dataclass(frozen=True)
class Gateway:
    fetch: tuple[str, ...] = ()  # trustless gateways blocks may be fetched from (none by default)
    fetch_from_peers: bool = True
    expose_routing_api: bool = True  # Kubo's Gateway.ExposeRoutingAPI


@dataclass(frozen=True)
class Routing:
    type: str = DEFAULT_ROUTING_TYPE
    delegated_routers: tuple[str, ...] = ()
    dht_protocol: str | None = None  # Routing.DHT.Protocol: wan / lan / dual / a protocol ID


@dataclass(frozen=True)
class Reprovider:
    strategy: str = DEFAULT_REPROVIDER_STRATEGY


@dataclass(frozen=True)
class Ipns:
    republish_period: str | None = None  # Go durations ("4h"), parsed by ipns/service
    record_lifetime: str | None = None
    resolve_cache_size: int | None = None


@dataclass(frozen=True)
class Dns:
    resolvers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # domain suffix -> DoH URL


@dataclass(frozen=True)
class Datastore:
    engine: str = "default"  # store/open.ENGINES, or "default"
    storage_max: str | int | None = None  # shown by `repo stat` (not enforced, as Kubo without GC)


@dataclass(frozen=True)
class Discovery:
    mdns_enabled: bool = False  # Discovery.MDNS.Enabled: off by default (loopback-only rule)


@dataclass(frozen=True)
class WebUI:
    content_security_policy: bool = True


@dataclass(frozen=True)
class Versioning:
    chunker: str | None = None
    author_name: str | None = None
    author_email: str | None = None


@dataclass(frozen=True)
class UserConfig:
    addresses: Addresses = field(default_factory=Addresses)
    api: Api = field(default_factory=Api)
    bootstrap: tuple[str, ...] = ()
    peering_peers: tuple[Mapping[str, Any], ...] = ()  # Peering.Peers (net/peering parses them)
    gateway: Gateway = field(default_factory=Gateway)
    routing: Routing = field(default_factory=Routing)
    reprovider: Reprovider = field(default_factory=Reprovider)
    ipns: Ipns = field(default_factory=Ipns)
    dns: Dns = field(default_factory=Dns)
    datastore: Datastore = field(default_factory=Datastore)
    discovery: Discovery = field(default_factory=Discovery)
    webui: WebUI = field(default_factory=WebUI)
    import_profile: str | None = None  # Import.Profile (config.py's profiles)
    versioning: Versioning = field(default_factory=Versioning)
    refs_database: str = "sqlite"  # Refs.Database: "sqlite" or a postgresql:// URL
    trust_keys: tuple[str, ...] = ()  # Trust.Keys: peer IDs whose signatures are trusted
    remotes: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)  # Remotes.NAME.Addr

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> UserConfig:
        """Every key used by the node, type-checked; raises InvalidInput("config KEY: ...").
        A missing key takes the field's default above (`d`): each default is written once."""
        r = _Reader(copy.deepcopy(dict(raw)))  # the parsed value never aliases the raw dict
        d = cls()
        routing_type = r.str("Routing.Type", d.routing.type) or d.routing.type
        if routing_type not in ROUTING_TYPES:
            raise InvalidInput(f"config Routing.Type: {routing_type!r} is not one of {', '.join(ROUTING_TYPES)}")
        strategy = r.str("Reprovider.Strategy", d.reprovider.strategy) or d.reprovider.strategy
        if strategy not in REPROVIDER_STRATEGIES:
            raise InvalidInput(f"config Reprovider.Strategy: {strategy!r} is not one of "
                               f"{', '.join(REPROVIDER_STRATEGIES)}")
        remotes = r.map("Remotes")
        for name, remote in remotes.items():
            if not isinstance(remote, Mapping):
                raise InvalidInput(f"config Remotes.{name}: expected a map, got {_kind(remote)}")
        origins = r.get("API.HTTPHeaders.Access-Control-Allow-Origin")
        return cls(
            addresses=Addresses(
                swarm=r.strs("Addresses.Swarm", d.addresses.swarm),
                api=r.str("Addresses.API", d.addresses.api) or "",
                gateway=r.str("Addresses.Gateway", d.addresses.gateway) or ""),
            api=Api(allowed_origins=None if origins is None else r.strs("API.HTTPHeaders.Access-Control-Allow-Origin"),
                    allowed_hosts=r.strs("API.AllowedHosts"),
                    authorizations=r.get("API.Authorizations")),
            bootstrap=r.strs("Bootstrap"),
            peering_peers=tuple(r.list_of_maps("Peering.Peers")),
            gateway=Gateway(fetch=r.strs("Gateway.Fetch"),
                            fetch_from_peers=r.bool("Gateway.FetchFromPeers", d.gateway.fetch_from_peers),
                            expose_routing_api=r.bool("Gateway.ExposeRoutingAPI", d.gateway.expose_routing_api)),
            routing=Routing(type=routing_type, delegated_routers=r.strs("Routing.DelegatedRouters"),
                            dht_protocol=r.str("Routing.DHT.Protocol", None) or None),
            reprovider=Reprovider(strategy=strategy),
            ipns=Ipns(republish_period=r.duration("Ipns.RepublishPeriod"),
                      record_lifetime=r.duration("Ipns.RecordLifetime"),
                      resolve_cache_size=r.none_or_int("Ipns.ResolveCacheSize")),
            dns=Dns(resolvers=MappingProxyType({str(k): str(v) for k, v in r.map("DNS.Resolvers").items()})),
            datastore=Datastore(engine=r.str("Datastore.Engine", d.datastore.engine) or d.datastore.engine,
                                storage_max=r.get("Datastore.StorageMax")),
            discovery=Discovery(mdns_enabled=r.bool("Discovery.MDNS.Enabled", d.discovery.mdns_enabled)),
            webui=WebUI(content_security_policy=r.bool("WebUI.ContentSecurityPolicy",
                                                       d.webui.content_security_policy)),
            import_profile=r.str("Import.Profile", None) or None,
            versioning=Versioning(chunker=r.str("Versioning.Chunker", None) or None,
                                  author_name=r.str("Versioning.Author.Name", None) or None,
                                  author_email=r.str("Versioning.Author.Email", None) or None),
            refs_database=r.str("Refs.Database", d.refs_database) or d.refs_database,
            trust_keys=r.strs("Trust.Keys"),
            remotes=MappingProxyType({str(k): MappingProxyType(dict(v)) for k, v in remotes.items()}),
        )


def _kind(v: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a map", type(None): "null"}.get(type(v), type(v).__name__)


class _Reader:
    """Typed reads of dotted keys, each error naming the key."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def get(self, key: str) -> Any:
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def _bad(self, key: str, want: str, v: Any) -> InvalidInput:
        return InvalidInput(f"config {key}: expected {want}, got {_kind(v)} ({v!r:.60})")

    def str(self, key: str, default: str | None) -> str | None:
        v = self.get(key)
        if v is None:
            return default
        if not isinstance(v, str):
            raise self._bad(key, "a string", v)
        return v

    def bool(self, key: str, default: bool) -> bool:
        v = self.get(key)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self._bad(key, "true or false", v)
        return v

    def none_or_int(self, key: str) -> int | None:
        v = self.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            raise self._bad(key, "a whole number", v)
        return v if v > 0 else None

    def duration(self, key: str) -> str | None:
        v = self.get(key)
        if v is None or v == "":
            return None
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise self._bad(key, 'a duration such as "4h"', v)
        return str(v)

    def strs(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        v = self.get(key)
        if v is None:
            return default
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self._bad(key, "a list of strings", v)
        return tuple(v)

    def map(self, key: str) -> Mapping[str, Any]:
        v = self.get(key)
        if v is None:
            return {}
        if not isinstance(v, Mapping):
            raise self._bad(key, "a map", v)
        return v

    def list_of_maps(self, key: str) -> list[Mapping[str, Any]]:
        v = self.get(key)
        if v is None:
            return []
        if not isinstance(v, list) or not all(isinstance(x, Mapping) for x in v):
            raise self._bad(key, "a list of maps", v)
        return v


# --------------------------------------------------------------------------------------------
# `jzfs config KEY` for a key the file does not set: the effective default (as `ipfs config`
# shows Kubo's defaults), taken from what `UserConfig.parse({})` gives, so there is one source.
# --------------------------------------------------------------------------------------------

_SHOWN_DEFAULTS: dict[str, Any] = {
    "Addresses.Swarm": lambda s: list(s.addresses.swarm),
    "Addresses.API": lambda s: s.addresses.api,
    "Addresses.Gateway": lambda s: s.addresses.gateway,
    "Bootstrap": lambda s: list(s.bootstrap),
    "Gateway.Fetch": lambda s: list(s.gateway.fetch),
    "Gateway.FetchFromPeers": lambda s: s.gateway.fetch_from_peers,
    "Gateway.ExposeRoutingAPI": lambda s: s.gateway.expose_routing_api,
    "Routing.Type": lambda s: s.routing.type,
    "Routing.DelegatedRouters": lambda s: list(s.routing.delegated_routers),
    "Reprovider.Strategy": lambda s: s.reprovider.strategy,
    "Discovery.MDNS.Enabled": lambda s: s.discovery.mdns_enabled,
    "WebUI.ContentSecurityPolicy": lambda s: s.webui.content_security_policy,
    "Datastore.Engine": lambda s: s.datastore.engine,
    "Refs.Database": lambda s: s.refs_database,
    "Trust.Keys": lambda s: list(s.trust_keys),
}


def effective_config_value(raw: Mapping[str, Any], key: str) -> Any:
    """The value `jzfs config KEY` shows: the file's value where it has one, else the default
    the node uses (for a section such as `Routing`: its defaults with the file's keys over
    them). KeyError when neither the file nor the defaults know the key."""
    defaults = UserConfig.parse({})
    tree: dict[str, Any] = {}
    for dotted, get in _SHOWN_DEFAULTS.items():
        node = tree
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = get(defaults)

    def merge(base: Any, over: Any) -> Any:
        if isinstance(base, dict) and isinstance(over, Mapping):
            out = dict(base)
            for k, v in over.items():
                out[k] = merge(base.get(k), v) if k in base else copy.deepcopy(v)
            return out
        return copy.deepcopy(over)

    node: Any = merge(tree, raw)
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node
