"""Managed blocks: found, replaced and removed without touching the operator's lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.blocks import ManagedBlock, block_ids, insert_block, remove_block

UBUNTU_IPSEC_CONF = """# ipsec.conf - strongSwan IPsec configuration file

# basic configuration

config setup
\t# strictcrlpolicy=yes
\t# uniqueids = no

# Add connections here.
"""


def test_insert_after_anchor_lands_inside_config_setup() -> None:
    block = ManagedBlock("config-setup", "\tuniqueids=no", after=r"^config setup\s*$",
                         create="config setup\n{block}\n")
    text = insert_block(UBUNTU_IPSEC_CONF, block)
    lines = text.splitlines()
    at = lines.index("config setup")
    assert lines[at + 2] == "\tuniqueids=no"
    assert "\t# uniqueids = no" in lines  # the operator's comment stays


def test_insert_is_idempotent_and_replaces_in_place() -> None:
    block = ManagedBlock("Tunnel1", "conn Tunnel1\n\tmark=100")
    once = insert_block(UBUNTU_IPSEC_CONF, block)
    assert insert_block(once, block) == once
    changed = insert_block(once, ManagedBlock("Tunnel1", "conn Tunnel1\n\tmark=300"))
    assert "mark=300" in changed and "mark=100" not in changed
    assert changed.count("BEGIN vpn-wizard Tunnel1") == 1


def test_remove_restores_the_original_bytes() -> None:
    block = ManagedBlock("Tunnel1", "conn Tunnel1\n\tmark=100")
    assert remove_block(insert_block(UBUNTU_IPSEC_CONF, block), block) == UBUNTU_IPSEC_CONF


def test_superseded_operator_line_is_disabled_then_restored() -> None:
    original = "charon {\n    install_routes = yes\n    threads = 16\n}\n"
    block = ManagedBlock("install-routes", "    install_routes = no", after=r"^\s*charon\s*\{",
                         create="charon {\n{block}}\n", supersedes=r"^\s*install_routes\s*=")
    text = insert_block(original, block)
    active = [
        line.strip() for line in text.splitlines()
        if line.strip().startswith("install_routes")
    ]
    assert active == ["install_routes = no"]
    assert "#vpn-wizard-disabled: install_routes = yes" in text
    assert insert_block(text, block) == text
    assert remove_block(text, block) == original


def test_missing_anchor_uses_the_create_skeleton() -> None:
    block = ManagedBlock("iptables", "iptables-restore --noflush < /x", before=r"^exit 0\s*$",
                         create="#!/bin/sh -e\n{block}exit 0\n")
    created = insert_block(None, block)
    assert created.startswith("#!/bin/sh -e\n") and created.endswith("exit 0\n")
    existing = "#!/bin/sh\necho hi\nexit 0\n"
    text = insert_block(existing, block)
    assert text.splitlines()[-1] == "exit 0"
    assert text.index("iptables-restore") < text.index("exit 0")


def test_block_ids_lists_what_the_wizard_owns() -> None:
    text = insert_block(insert_block("x = 1\n", ManagedBlock("a", "1")), ManagedBlock("b", "2"))
    assert block_ids(text) == ["a", "b"]


lines = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                 blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
                         max_size=30), max_size=15)


@settings(max_examples=200, deadline=None)
@given(lines)
def test_insert_then_remove_is_identity_for_any_operator_file(content: list[str]) -> None:
    text = "".join(line + "\n" for line in content if "vpn-wizard" not in line)
    block = ManagedBlock("Tunnel1", "conn Tunnel1\n\tmark=100")
    assert remove_block(insert_block(text, block), block) == (text or "")
