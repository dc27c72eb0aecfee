"""user_config.py: the config file parsed once into typed sections, with errors naming the key."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jiaozi_node
from jiaozi_node.config import DEFAULT_API_ADDR, DEFAULT_SWARM_ADDRS
from jiaozi_node.errors import InvalidInput
from jiaozi_node.repo import Repo
from jiaozi_node.user_config import UserConfig


def test_defaults_when_keys_are_missing():
    s = UserConfig.parse({})
    assert s.addresses.swarm == tuple(DEFAULT_SWARM_ADDRS) and s.addresses.api == DEFAULT_API_ADDR
    assert s.routing.type == "auto" and s.bootstrap == () and s.gateway.fetch == ()
    assert s.gateway.fetch_from_peers and not s.discovery.mdns_enabled and s.refs_database == "sqlite"


def test_values_are_read_and_typed():
    s = UserConfig.parse({
        "Addresses": {"Swarm": ["/ip4/127.0.0.1/tcp/4001"], "API": "", "Gateway": "/ip4/127.0.0.1/tcp/1"},
        "Routing": {"Type": "dhtclient", "DelegatedRouters": ["http://127.0.0.1:9"], "DHT": {"Protocol": "lan"}},
        "Ipns": {"RepublishPeriod": "4h", "ResolveCacheSize": 7},
        "Remotes": {"origin": {"Addr": "/ip4/127.0.0.1/tcp/4001/p2p/x"}},
        "Trust": {"Keys": ["k1"]}, "Discovery": {"MDNS": {"Enabled": True}},
    })
    assert s.addresses.swarm == ("/ip4/127.0.0.1/tcp/4001",) and s.addresses.api == ""
    assert (s.routing.type, s.routing.delegated_routers, s.routing.dht_protocol) == (
        "dhtclient", ("http://127.0.0.1:9",), "lan")
    assert s.ipns.republish_period == "4h" and s.ipns.resolve_cache_size == 7
    assert s.remotes["origin"]["Addr"].startswith("/ip4/") and s.trust_keys == ("k1",)
    assert s.discovery.mdns_enabled


@pytest.mark.parametrize(("raw", "message"), [
    ({"Bootstrap": "/ip4/1.2.3.4/tcp/1"}, "config Bootstrap: expected a list of strings, got a string"),
    ({"Addresses": {"Swarm": [1]}}, "config Addresses.Swarm: expected a list of strings"),
    ({"Gateway": {"FetchFromPeers": "yes"}}, "config Gateway.FetchFromPeers: expected true or false"),
    ({"Routing": {"Type": "dhtt"}}, "config Routing.Type: 'dhtt' is not one of"),
    ({"Reprovider": {"Strategy": "everything"}}, "config Reprovider.Strategy"),
    ({"DNS": {"Resolvers": ["x"]}}, "config DNS.Resolvers: expected a map, got a list"),
    ({"Ipns": {"ResolveCacheSize": "many"}}, "config Ipns.ResolveCacheSize: expected a whole number"),
    ({"Remotes": {"origin": "addr"}}, "config Remotes.origin: expected a map"),
])
def test_wrong_types_name_the_key(raw, message):
    with pytest.raises(InvalidInput, match=message.replace(".", r"\.").replace("(", r"\(")):
        UserConfig.parse(raw)


def test_repo_parses_once_and_again_after_set_config(tmp_path):
    repo = Repo.init(tmp_path / "r")
    first = repo.settings
    assert repo.settings is first  # parsed once
    repo.set_config("Bootstrap", ["/ip4/127.0.0.1/tcp/4001/p2p/x"])
    assert repo.settings is not first and repo.settings.bootstrap == ("/ip4/127.0.0.1/tcp/4001/p2p/x",)
    repo.config["Bootstrap"].append("changed behind its back")
    assert len(repo.settings.bootstrap) == 1  # the parsed value is a copy


def test_no_module_reads_the_raw_config_with_an_inline_default():
    """One channel: modules read `node.settings` / `repo.settings`, never get_config_default."""
    root = Path(jiaozi_node.__file__).parent
    bad = []
    for path in sorted(root.rglob("*.py")):
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.Attribute) and n.attr == "get_config_default" and isinstance(n.ctx, ast.Load):
                bad.append(str(path.relative_to(root)))
    assert bad == []


def test_effective_config_value_defaults_come_from_parse() -> None:
    from jiaozi_node.user_config import effective_config_value

    d = UserConfig.parse({})
    assert effective_config_value({}, "Routing.Type") == d.routing.type
    assert effective_config_value({}, "Addresses.Swarm") == list(d.addresses.swarm)
    assert effective_config_value({"Routing": {"Type": "none", "X": 1}}, "Routing") == \
        {"Type": "none", "DelegatedRouters": [], "X": 1}
    with pytest.raises(KeyError):
        effective_config_value({}, "Routing.Nope")


def test_each_default_is_written_once():
    """A missing key takes the dataclass field's default: parse({}) is UserConfig(), and parse
    passes no default of its own (a literal or a config.py constant) to the reader."""
    import inspect
    import textwrap

    assert UserConfig.parse({}) == UserConfig()
    tree = ast.parse(textwrap.dedent(inspect.getsource(UserConfig.parse)))
    own = [ast.unparse(c) for c in ast.walk(tree)
           if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
           and isinstance(c.func.value, ast.Name) and c.func.value.id == "r" and len(c.args) == 2
           and (isinstance(c.args[1], ast.Name) or (isinstance(c.args[1], ast.Constant)
                                                    and c.args[1].value is not None))]
    assert own == []
