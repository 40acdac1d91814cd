"""Issue 9 item 1: no key of any origin in any view, masked by what the file is.

The operator's own `/etc/ipsec.secrets` lines (other peers, XAUTH, EAP, RSA
passphrases), swanctl `secret =` values and a `wpa-psk` in
`/etc/network/interfaces` are keys the wizard never saw; they are masked by
the rules of their kind of file (wizard.redact), in the text preview, the
JSON, the TUI review and the dry-run log, and shown only on --show-secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from seed_setup import SEED_PSKS

from screens.app import WizardApp
from wizard.cli import main
from wizard.model import Setup
from wizard.plan import build_plan
from wizard.plan_types import FileChange
from wizard.redact import Redactor, file_kind, mask_file
from wizard.secret import MASK
from wizard.system.paths import Root

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = str(REPO / "examples" / "aws-strongswan-seed.txt")
EXAMPLE_KEYS = ("ExampleKey.One_1", "ExampleKey.Two_2")
OPERATOR_KEY = "OperatorOwnKey123"

OPERATOR_SECRETS = f"""# the operator's own keys
192.0.2.1 192.0.2.99 : PSK "{OPERATOR_KEY}"
192.0.2.1 %any : PSK 'SingleQuoted.Key9'
@office : XAUTH "XauthPass.Word1"
carol : EAP EapPassWord22
: RSA /etc/ipsec.d/private/box.pem "RsaPassPhrase33"
# 192.0.2.1 192.0.2.98 : PSK "OldCommentedKey44"
192.0.2.1 192.0.2.97 :   PSK    "OddSpacing55"
2001:db8::1 2001:db8::2 : PSK "Ipv6PeerKey66"
"""
OPERATOR_KEYS = (OPERATOR_KEY, "SingleQuoted.Key9", "XauthPass.Word1", "EapPassWord22",
                 "RsaPassPhrase33", "OldCommentedKey44", "OddSpacing55", "Ipv6PeerKey66")


def operator_root(base: Path) -> Path:
    etc = base / "etc"
    etc.mkdir(parents=True)
    (etc / "ipsec.secrets").write_text(OPERATOR_SECRETS)
    (etc / "ipsec.secrets").chmod(0o600)
    return base


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_plan_masks_the_operators_own_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """The reproduction of the issue: diff context and JSON held the operator's PSK."""
    root = operator_root(tmp_path)
    code, out = run_cli(capsys, "plan", "--root", str(root), "--import", EXAMPLE,
                        "--format", fmt)
    assert code == 0
    leaks = [k for k in (*OPERATOR_KEYS, *EXAMPLE_KEYS) if k in out]
    assert leaks == []
    if fmt == "json":
        json.loads(out[out.index("{"):])
    assert "2001:db8::2" in out  # the line is shown (as context), only its key is masked


def test_show_secrets_reveals_them_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = operator_root(tmp_path)
    code, out = run_cli(capsys, "plan", "--root", str(root), "--import", EXAMPLE,
                        "--format", "json", "--show-secrets")
    assert code == 0
    assert all(k in out for k in (OPERATOR_KEY, *EXAMPLE_KEYS))


def test_dry_run_log_shows_no_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = operator_root(tmp_path)
    (root / "etc" / "ipsec.conf").write_text("config setup\n")
    code, out = run_cli(capsys, "apply", "--dry-run", "--root", str(root), "--import", EXAMPLE)
    assert code == 0 and "Would run:" in out, out
    assert [k for k in (*OPERATOR_KEYS, *EXAMPLE_KEYS) if k in out] == []


def test_file_change_diff_masks_by_kind_without_being_told_the_keys(tmp_path: Path) -> None:
    """A caller that forgets to pass the plan's secrets still gets a masked diff."""
    root = operator_root(tmp_path)
    plan = build_plan(_seed(), Root(root).read)
    change = plan.step("tunnel1.secrets").files[0]
    diff = change.diff()
    assert [k for k in (*OPERATOR_KEYS, *SEED_PSKS) if k in diff] == []
    assert f'PSK "{MASK}"' in diff
    assert "Ipv6PeerKey66" in change.diff(reveal=True)


def _seed() -> Setup:
    from seed_setup import seed_setup

    return seed_setup()


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ('192.0.2.1 192.0.2.99 : PSK "k3y.Value"', f'192.0.2.1 192.0.2.99 : PSK "{MASK}"'),
        ("192.0.2.1 : PSK k3y.Value", f"192.0.2.1 : PSK {MASK}"),
        (': XAUTH "k3y.Value"', f': XAUTH "{MASK}"'),
        ("carol : EAP 'k3y.Value'", f"carol : EAP '{MASK}'"),
        (': RSA /etc/key.pem "k3y.Value"', f': RSA /etc/key.pem "{MASK}"'),
        (": RSA /etc/key.pem", ": RSA /etc/key.pem"),
        ('  # 192.0.2.1 : PSK "k3y.Value"', f'  # 192.0.2.1 : PSK "{MASK}"'),
        ('192.0.2.1 : "k3y.Value"', f'192.0.2.1 : "{MASK}"'),
        ("include /etc/ipsec.d/*.secrets", "include /etc/ipsec.d/*.secrets"),
        ('2001:db8::1 : PSK "k3y.Value"', f'2001:db8::1 : PSK "{MASK}"'),
    ],
)
def test_ipsec_secrets_rule(line: str, shown: str) -> None:
    assert mask_file("/etc/ipsec.secrets", line + "\n") == shown + "\n"


def test_the_key_itself_is_swept_not_the_rest_of_its_line() -> None:
    found: set[str] = set()
    mask_file("/etc/ipsec.secrets", ': PSK "k3y.Value" # rotated in May\n'
              "192.0.2.1 : XAUTH Xauth.Value extra\n", found=found)
    assert found == {"k3y.Value", "Xauth.Value"}


def test_prose_in_a_comment_is_neither_masked_nor_swept() -> None:
    found: set[str] = set()
    text = "# see : ipsec.secrets(5) for the format\n# 192.0.2.1 : PSK \"k3y.Value\"\n"
    masked = mask_file("/etc/ipsec.secrets", text, found=found)
    assert masked.splitlines()[0] == "# see : ipsec.secrets(5) for the format"
    assert found == {"k3y.Value"}


def test_swanctl_and_interfaces_rules() -> None:
    swanctl = 'secrets {\n    ike-1 {\n        secret = "k3y.Value"\n    }\n    token {\n' \
              "        pin = 1234\n    }\n}\n"
    masked = mask_file("/etc/swanctl/conf.d/other.conf", swanctl)
    assert "k3y.Value" not in masked and "1234" not in masked
    assert f'secret = "{MASK}"' in masked
    interfaces = "iface wlan0 inet dhcp\n    wpa-ssid office\n    wpa-psk k3y.Value\n"
    masked = mask_file("/etc/network/interfaces", interfaces)
    assert "k3y.Value" not in masked and "wpa-ssid office" in masked


def test_strongswan_conf_secrets_are_masked() -> None:
    """charon.conf is edited by the plan; an eap-radius or load-tester key may sit in it."""
    conf = ("charon {\n    install_routes = yes\n    eap-radius {\n        secret = k3y.Value\n"
            "    }\n    load-tester {\n        preshared_key = Oth3r.Value\n    }\n}\n")
    masked = mask_file("/etc/strongswan.d/charon.conf", conf)
    assert "k3y.Value" not in masked and "Oth3r.Value" not in masked
    assert "install_routes = yes" in masked


def test_a_private_file_is_secret_bearing_whatever_its_name() -> None:
    assert file_kind("/etc/vpn-wizard/anything.conf", 0o600) == "generic"
    assert file_kind("/etc/vpn-wizard/anything.conf", 0o644) is None
    assert file_kind("/etc/ipsec.secrets") == "ipsec.secrets"


def test_a_key_found_in_one_file_is_masked_in_every_other_text(tmp_path: Path) -> None:
    """The sweep: an operator's key quoted in a message or another file is masked too."""
    root = operator_root(tmp_path)
    plan = build_plan(_seed(), Root(root).read)
    redactor = Redactor.for_plan(plan)
    assert OPERATOR_KEY not in redactor.text(f"error near {OPERATOR_KEY}")
    other = FileChange("/etc/ipsec.conf", 0o644, None, f"# {OPERATOR_KEY}\n")
    assert OPERATOR_KEY not in redactor.diff(other)


@pytest.mark.asyncio
async def test_tui_review_masks_the_operators_keys(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The review screen shows the same masked diff (read from its rendered screen)."""
    from screens_support import make_app

    monkeypatch.chdir(REPO)
    root = operator_root(tmp_path)
    app = make_app(root, start="review")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        assert app.current == "review"
        shown = _static_text(app) + app.export_screenshot()
        assert "2001:db8::2" in shown
        assert [k for k in (*OPERATOR_KEYS, *EXAMPLE_KEYS) if k in shown] == []


def _static_text(app: WizardApp) -> str:
    import os

    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return console.export_text()


def test_apply_messages_mask_the_operators_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step message or an error that quotes a line of ipsec.secrets is masked on the way out."""
    import wizard.session.run as session_run
    from wizard.apply import ApplyResult, StepEvent

    def failing(plan: object, system: object, *, progress: Callable[[StepEvent], None],
                **kw: object) -> ApplyResult:
        event = StepEvent("tunnel1.secrets", "failed",
                          f'/etc/ipsec.secrets line 2: 192.0.2.99 : PSK "{OPERATOR_KEY}" odd')
        progress(event)
        return ApplyResult(False, False, "tunnel1.secrets", f"cannot use {OPERATOR_KEY}",
                           None, (event,))

    monkeypatch.setattr(session_run, "apply_plan", failing)
    root = operator_root(tmp_path)
    (root / "etc" / "ipsec.conf").write_text("config setup\n")
    code, out = run_cli(capsys, "apply", "--dry-run", "--root", str(root), "--import", EXAMPLE)
    assert "tunnel1.secrets" in out and MASK in out
    assert OPERATOR_KEY not in out
    code, out = run_cli(capsys, "apply", "--no-confirm", "--root", str(root), "--import",
                        EXAMPLE)
    assert code == 1 and "cannot use" in out and OPERATOR_KEY not in out
