"""Standing suite, issue 9 item 1: no key of any origin appears in any view.

Hypothesis writes an operator's own `/etc/ipsec.secrets` (PSK, XAUTH, EAP,
NTLM, RSA-with-passphrase and type-less lines; odd spacing, both quotes, no
quotes, commented-out keys, IPv6 selectors, continuation lines) and a
hand-made swanctl secrets file, and keys in other files the plan edits
(charon.conf, /etc/network/interfaces), puts them under a `--root`, and runs every
view of the plan over it: `plan` as text and as JSON, and `apply --dry-run`'s
log. None may contain any of the keys, nor the plan's own PSKs;
`--show-secrets` must show them (or the test would pass on a view that shows
nothing). Two fixed cases go through the TUI review screen with Pilot.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tally import tried

from wizard.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = str(REPO / "examples" / "aws-strongswan-seed.txt")
EXAMPLE_KEYS = ("ExampleKey.One_1", "ExampleKey.Two_2")
SCALE = max(1, int(os.environ.get("VPN_WIZARD_FUZZ", "1")))

# Keys start with a marker no output of the wizard contains, so finding one
# in a view can only be a leak; the rest is anything a key file may hold.
_KEY_CHARS = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "._-+/=!@$%^&*()[]{}<>~,;:"),
    min_size=6, max_size=24,
)
keys = _KEY_CHARS.map(lambda s: "Qz" + s)
spaced_keys = st.tuples(keys, st.sampled_from([" ", "  ", "\t"]), _KEY_CHARS).map(
    lambda t: t[0] + t[1] + t[2])
selectors = st.lists(
    st.sampled_from(["192.0.2.1", "192.0.2.99", "198.51.100.7", "%any", "@office",
                     "carol@example.com", "2001:db8::1", "2001:db8::2", '"CN=peer, O=x"']),
    max_size=3,
).map(" ".join)
blanks = st.sampled_from([" ", "  ", "\t", " \t "])


@dataclass(frozen=True)
class Entry:
    """One line of the operator's ipsec.secrets and the key it holds."""

    line: str
    key: str


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    kind = draw(st.sampled_from(["PSK", "XAUTH", "EAP", "NTLM", "psk", "RSA", "ECDSA", ""]))
    quote = draw(st.sampled_from(['"', "'", ""]))
    key = draw(spaced_keys if quote else keys)
    if not quote:
        key = key.replace("'", "").replace('"', "")
    value = f"{quote}{key}{quote}"
    head = draw(selectors)
    before, after = draw(blanks), draw(blanks)
    lead = f"{head}{before}:" if head else ":"
    if kind in ("RSA", "ECDSA"):
        body = f"{kind} /etc/ipsec.d/private/peer.pem{after}{value}"
    elif kind:
        body = f"{kind}{after}{value}"
    else:
        body = value
    line = f"{lead}{after}{body}"
    if draw(st.booleans()) and draw(st.booleans()):
        line = draw(st.sampled_from(["#", "# ", "  #", "##"])) + line
    return Entry(line, key)


@st.composite
def secrets_files(draw: st.DrawFn) -> tuple[str, list[str]]:
    """An ipsec.secrets as an operator might have it, and every key in it."""
    chosen = draw(st.lists(entries(), min_size=1, max_size=6))
    lines = ["# /etc/ipsec.secrets - strongSwan IPsec secrets file"]
    found = []
    for entry in chosen:
        lines.append(entry.line)
        found.append(entry.key)
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# a comment", "include /etc/ipsec.d/*.sec"])))
    continuation = draw(st.one_of(st.none(), keys))
    if continuation:  # a key on an indented continuation line
        lines.append("192.0.2.1 192.0.2.77 : PSK")
        lines.append(f"    {continuation}")
        found.append(continuation)
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""])), found


@st.composite
def swanctl_files(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A hand-written swanctl secrets file at the wizard's path, with `secret =`/`pin =`."""
    found = []
    sections = []
    for index in range(draw(st.integers(1, 4))):
        key = draw(keys).replace('"', "").replace("#", "").replace("}", "").replace("{", "")
        quote = draw(st.sampled_from(['"', ""]))
        name = draw(st.sampled_from(["secret", "pin", "secret  ", "# secret"]))
        kind = draw(st.sampled_from(["ike", "eap", "xauth", "ntlm", "token"]))
        sections.append(f"    {kind}-{index} {{\n        id = peer{index}\n"
                        f"        {name}= {quote}{key}{quote}\n    }}")
        found.append(key)
    return "secrets {\n" + "\n".join(sections) + "\n}\n", found


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


def views(root: Path, *extra: str) -> dict[str, str]:
    """Every CLI view of the plan over `root`."""
    shown = {}
    for fmt in ("text", "json"):
        code, text = run("plan", "--root", str(root), *extra, "--format", fmt)
        assert code == 0, text
        shown[fmt] = text
    code, text = run("apply", "--dry-run", "--root", str(root), *extra)
    assert "Traceback" not in text
    shown["dry-run"] = text
    return shown


def leaks(shown: dict[str, str], secrets: list[str]) -> list[tuple[str, str]]:
    return [(view, key) for view, text in shown.items() for key in secrets if key in text]


@settings(max_examples=40 * SCALE)
@given(secrets_files())
def test_operator_ipsec_secrets_never_shown(case: tuple[str, list[str]]) -> None:
    tried("secrets-ipsec.secrets")
    content, secrets = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "etc").mkdir()
        (root / "etc" / "ipsec.conf").write_text("config setup\n")
        path = root / "etc" / "ipsec.secrets"
        path.write_text(content)
        path.chmod(0o600)
        shown = views(root, "--import", EXAMPLE)
        assert leaks(shown, [*secrets, *EXAMPLE_KEYS]) == []
        _, revealed = run("plan", "--root", str(root), "--import", EXAMPLE, "--format", "json",
                          "--show-secrets")
        assert all(key in revealed for key in EXAMPLE_KEYS)


@settings(max_examples=25 * SCALE)
@given(swanctl_files())
def test_operator_swanctl_secrets_never_shown(case: tuple[str, list[str]]) -> None:
    tried("secrets-swanctl")
    content, secrets = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        conf_d = root / "etc" / "swanctl" / "conf.d"
        conf_d.mkdir(parents=True)
        (conf_d / "vpn-wizard-secrets.conf").write_text(content)
        answers = root / "answers.toml"
        answers.write_text(f'import = "{EXAMPLE}"\n\n[choices]\nbackend = "swanctl"\n')
        shown = views(root, "--answers", str(answers))
        assert "vpn-wizard-secrets.conf" in shown["text"]
        assert leaks(shown, [*secrets, *EXAMPLE_KEYS]) == []


@st.composite
def other_key_files(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    """A file the plan edits that may hold an operator's key: charon.conf or interfaces(5)."""
    found = []
    if draw(st.booleans()):
        path = "etc/strongswan.d/charon.conf"
        lines = ["charon {"]
        for index in range(draw(st.integers(1, 3))):
            key = draw(keys).replace("}", "").replace("{", "").replace("#", "")
            name = draw(st.sampled_from(["secret", "preshared_key", "password", "passphrase"]))
            lines += [f"    section{index} {{", f"        {name} = {key}", "    }"]
            found.append(key)
        lines += ["    # install_routes = yes", "}"]
    else:
        path = "etc/network/interfaces"
        lines = ["auto lo", "iface lo inet loopback", "", "iface wlan0 inet dhcp",
                 "    wpa-ssid office"]
        for _ in range(draw(st.integers(1, 2))):
            key = draw(keys)
            lines.append(f"    {draw(st.sampled_from(['wpa-psk', 'wpa-password']))} {key}")
            found.append(key)
    return path, "\n".join(lines) + "\n", found


@settings(max_examples=20 * SCALE)
@given(other_key_files())
def test_operator_keys_in_other_edited_files_never_shown(
    case: tuple[str, str, list[str]]
) -> None:
    tried("secrets-other-files")
    rel, content, secrets = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / rel
        path.parent.mkdir(parents=True)
        path.write_text(content)
        shown = views(root, "--import", EXAMPLE)
        assert "/" + rel in shown["text"]
        assert leaks(shown, [*secrets, *EXAMPLE_KEYS]) == []


OPERATOR_TUI_CASES = [
    '192.0.2.1 192.0.2.99 : PSK "QzTuiOperator.Key1"\n: XAUTH QzTuiXauth_2\n',
    "# old\n#192.0.2.1 %any : PSK 'QzTui Commented 3'\n2001:db8::1 : EAP \"QzTuiEap4\"\n",
]


@pytest.mark.asyncio
@pytest.mark.parametrize("content", OPERATOR_TUI_CASES)
async def test_tui_review_never_shows_operator_keys(
    content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console
    from screens_support import make_app
    from textual.widgets import Static

    tried("secrets-tui-review")
    monkeypatch.chdir(REPO)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "ipsec.secrets").write_text(content)
    app = make_app(tmp_path, start="review")
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        assert app.current == "review"
        console = Console(width=200, record=True, file=io.StringIO())
        for widget in app.screen.query(Static):
            console.print(widget.content)
        shown = console.export_text() + app.export_screenshot()
        assert "ipsec.secrets" in shown
        keys_in_case = [w.strip("\"'") for w in content.split() if w.strip("\"'").startswith(
            "Qz")] + ["QzTui Commented 3"]
        assert [k for k in (*keys_in_case, *EXAMPLE_KEYS) if k in shown] == []
