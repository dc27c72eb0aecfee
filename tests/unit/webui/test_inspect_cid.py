from __future__ import annotations


def test_commit_block(demo):
    c = demo["commits"]["dev"]
    html = demo["get"](f"/webui/inspect?cid={c}").text
    assert "dag-cbor" in html and "sha2-256" in html and 'id="commit-object"' in html
    assert 'id="value"' in html and "fix temperature" in html
    assert "&lt;script&gt;" in html and "<script>window" not in html


def test_dag_pb_directory_and_path(demo):
    node = demo["node"]
    root = node.versioning.load_commit(demo["commits"]["first"]).root
    html = demo["get"](f"/webui/inspect?cid=/ipfs/{root}/sub").text
    assert "dag-pb" in html and "Directory" in html and "inner.txt" in html
    raw = demo["get"](f"/webui/inspect?cid=/ipfs/{root}/sub/inner.txt").text
    assert 'id="hex"' in raw and "69 6e 6e 65 72" in raw  # "inner"


def test_bad_input(demo):
    r = demo["get"]("/webui/inspect?cid=nonsense")
    assert r.status == 400 and 'class="error"' in r.text
    assert demo["get"]("/webui/inspect").status == 200


def test_ipns_name_is_resolved_by_the_node(demo):
    r = demo["get"]("/webui/inspect?cid=/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8")
    assert r.status == 400 and 'class="error"' in r.text  # not published anywhere: a clear error


def test_published_ipns_name_resolves_to_its_block(demo):
    import trio

    from jiaozi_node.api.h_name import ipns_service

    root = demo["node"].versioning.load_commit(demo["commits"]["first"]).root
    svc = ipns_service(demo["app"].webui.ctx if demo["app"].webui else demo["app"].ctx)
    name, _ = trio.run(lambda: svc.publish(f"/ipfs/{root}", allow_offline=True))
    html = demo["get"](f"/webui/inspect?cid=/ipns/{name}/sub").text
    assert 'id="resolved"' in html and "dag-pb" in html and "inner.txt" in html
