from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025


def test_profiles_match_ipip_499():
    assert (UNIXFS_V1_2025.cid_version, UNIXFS_V1_2025.raw_leaves, UNIXFS_V1_2025.chunker,
            UNIXFS_V1_2025.max_links) == (1, True, "size-1048576", 1024)
    assert (UNIXFS_V0_2015.cid_version, UNIXFS_V0_2015.raw_leaves, UNIXFS_V0_2015.chunker,
            UNIXFS_V0_2015.max_links) == (0, False, "size-262144", 174)


def test_cid_version_1_implies_raw_leaves_like_kubo():
    p = UNIXFS_V0_2015.with_overrides(cid_version=1)
    assert p.raw_leaves and p.chunker == "size-262144" and p.max_links == 174
    p2 = UNIXFS_V0_2015.with_overrides(cid_version=1, raw_leaves=False)
    assert not p2.raw_leaves
