"""Replacements for parts of py-libp2p 0.8.1 (pinned), applied by jiaozi_node/net/_libp2p_patches.py.

Only the libp2p host adapter (net/libp2p_host.py) and these modules import `libp2p`.
"""
