"""`vpn-wizard`: argument parsing, and the choice between the TUI, plain prompts and sub-commands.

Sub-commands import what they need lazily, so `vpn-wizard plan` never pays
for Textual and `wizard` stays importable on a box without a terminal.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from wizard.model import BACKENDS, BGP_MODES, PERSISTENCE, ROUTINGS
from wizard.safe_text import printable
from wizard.session.confirm import CONFIRM_SECONDS
from wizard.system.paths import TargetFileError

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_FAILED = 1


def _add_inputs(parser: argparse.ArgumentParser, *, sub: bool = True) -> None:
    # A sub-command's default must not overwrite what was given before the
    # sub-command: `vpn-wizard --root /tmp/x apply` would otherwise apply to /.
    default = argparse.SUPPRESS if sub else None
    parser.add_argument("--import", dest="import_path", metavar="FILE", default=default,
                        help="the AWS configuration file (strongSwan, Generic or XML format)")
    parser.add_argument("--answers", metavar="FILE", default=default,
                        help="a TOML file of answers (see docs/answers.md)")
    parser.add_argument("--root", default=argparse.SUPPRESS if sub else "/", metavar="DIR",
                        help="treat DIR as the target's / (for tests and inspection)")


def _add_choices(parser: argparse.ArgumentParser) -> None:
    """The choices a command line may force, answered as an answers file's values are."""
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="strongSwan's configuration: ipsec.conf (stroke) or swanctl.conf "
                        "(vici); default: the answers file's, else what the box has")
    parser.add_argument("--persistence", choices=PERSISTENCE, default=None,
                        help="what brings the tunnels back after a reboot in manual mode; "
                        "default: the answers file's, else what the box has")
    parser.add_argument("--fast-failover", action=argparse.BooleanOptionalAction, default=None,
                        help="the heartbeat moves the VPC routes off a tunnel that stops "
                        "answering, within seconds (docs/failover.md); default: the answers "
                        "file's, else off")
    parser.add_argument("--routing", choices=ROUTINGS, default=None,
                        help="static routes to the VPC, or dynamic routing with BGP through "
                        "FRR; default: what AWS's file configures")
    parser.add_argument("--bgp-asn", metavar="ASN", default=None,
                        help="with BGP: this box's ASN (AWS's 'Customer Gateway ASN'), when "
                        "AWS's file has no BGP section")
    parser.add_argument("--bgp-aws-asn", metavar="ASN", default=None,
                        help="with BGP: AWS's ASN (64512 unless chosen otherwise)")
    parser.add_argument("--advertise", metavar="CIDRS", default=None,
                        help="with BGP: the networks announced to AWS, separated by commas")
    parser.add_argument("--bgp-mode", choices=BGP_MODES, default=None,
                        help="with BGP: both tunnels active, or tunnel 2 as a standby")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpn-wizard",
        description="Connect this box to an AWS VPC over IPsec, following AWS's strongSwan "
        "document step by step, with a preview before anything changes.",
    )
    _add_inputs(parser, sub=False)
    parser.add_argument("--dry-run", action="store_true",
                        help="walk every step without root and without changing the system")
    parser.add_argument("--plain", action="store_true",
                        help="ask the questions one by one instead of the full-screen wizard")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    plan = sub.add_parser("plan", help="print every file and command the wizard would apply")
    _add_inputs(plan)
    _add_choices(plan)
    plan.add_argument("--show-secrets", action="store_true",
                      help="show pre-shared keys instead of ********")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.add_argument("--save-answers", metavar="FILE",
                      help="write the resolved answers to FILE (mode 0600) for replay")
    plan.add_argument("--include-secrets", action="store_true",
                      help="with --save-answers: include the pre-shared keys")

    apply = sub.add_parser("apply", help="apply the plan non-interactively, with rollback")
    _add_inputs(apply)
    _add_choices(apply)
    apply.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS,
                       help="record what would run instead of running it")
    apply.add_argument("--no-confirm", action="store_true",
                       help="keep the changes without waiting for a confirmation")
    apply.add_argument("--confirm-timeout", type=int, default=CONFIRM_SECONDS,
                       metavar="SECONDS",
                       help=f"roll back unless confirmed within SECONDS "
                       f"(default {CONFIRM_SECONDS})")

    confirm = sub.add_parser("confirm", help="keep the changes of the pending apply")
    confirm.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR")

    rollback = sub.add_parser("rollback", help="undo an unfinished or unconfirmed apply")
    rollback.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR")

    uninstall = sub.add_parser(
        "uninstall", help="remove everything the wizard added (the applied setup, or the "
        "one --import/--answers name), after a preview")
    _add_inputs(uninstall)
    uninstall.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS)
    uninstall.add_argument("--yes", action="store_true",
                           help="remove without asking (needed without a terminal)")

    status = sub.add_parser("status", help="live status of both tunnels and the heartbeat")
    _add_inputs(status)
    status.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS,
                        help="the panel's keys say what they would run instead of running it")
    status.add_argument("--once", action="store_true", help="print one snapshot and exit")
    status.add_argument("--json", action="store_true", help="with --once: JSON output")

    guard = sub.add_parser("boot-guard", help="(run at boot by vpn-wizard-boot-guard.service) "
                           "roll back an apply an earlier boot left unconfirmed")
    guard.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR")

    heartbeat = sub.add_parser("heartbeat", help="ping the AWS inside addresses forever")
    heartbeat.add_argument("targets", nargs="+", metavar="ADDRESS")
    heartbeat.add_argument("--interval", type=float, default=5.0, metavar="SECONDS")
    heartbeat.add_argument("--failover", action="append", default=[], metavar="TUNNEL:METRIC",
                           help="fast failover: the interface and route metric of each target's "
                           "tunnel, in the targets' order (docs/failover.md)")
    heartbeat.add_argument("--route", action="append", default=[], metavar="CIDR",
                           help="with --failover: a VPC CIDR routed over the tunnels")
    heartbeat.add_argument("--state-file", default="/run/vpn-wizard/heartbeat.json",
                           metavar="FILE")
    heartbeat.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR",
                           help="keep the state under DIR and send no packet (simulated)")
    heartbeat.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS,
                           help="say what would be pinged, and ping nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an unexpected exception ends in one escaped line, not a traceback.

    A traceback would print the offending value raw (an ESC from an input file
    reaches the terminal) and bury what the operator needs: set
    VPN_WIZARD_DEBUG=1 to get it anyway.
    """
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except TargetFileError as err:  # a link, special file or broken block on the box
        print(f"error: {printable(err, keep_newlines=True)}", file=sys.stderr, flush=True)
        print("Nothing was changed.", file=sys.stderr, flush=True)
        return 2
    except Exception as exc:
        if os.environ.get("VPN_WIZARD_DEBUG"):
            raise
        print(f"vpn-wizard: internal error: {type(exc).__name__}: {printable(exc)}\n"
              "This is a bug in vpn-wizard; run again with VPN_WIZARD_DEBUG=1 to see where.",
              file=sys.stderr, flush=True)
        return EXIT_FAILED


def _dispatch(args: argparse.Namespace) -> int:
    # Each branch imports its command where it runs, for start-up time and footprint:
    # `heartbeat` runs as a service and `boot-guard` in early boot, and neither should
    # load Rich's previews, pyroute2 or Textual; the TUI loads Textual only here.
    command = args.command
    if command == "plan":
        from wizard.commands.plan import run_plan

        return run_plan(args)
    if command == "apply":
        from wizard.commands.apply import run_apply

        return run_apply(args)
    if command in ("confirm", "rollback"):
        from wizard.commands import transaction

        return int(getattr(transaction, f"run_{command}")(args))
    if command == "uninstall":
        from wizard.commands.uninstall import run_uninstall

        return run_uninstall(args)
    if command == "status":
        from wizard.commands.status import run_status

        return run_status(args)
    if command == "boot-guard":
        from wizard.boot_guard import main as boot_guard

        return boot_guard(getattr(args, "root", "/") or "/")
    if command == "heartbeat":
        from wizard.commands.heartbeat import run_heartbeat

        return run_heartbeat(args)
    if args.plain:
        from wizard.commands.plain import run_plain

        return run_plain(args)
    return int(import_tui().run_app(args))


def import_tui() -> ModuleType:
    """`screens.app`, imported with Python's cycle collector paused until the first frame.

    Everything made between here and the TUI's first frame (modules, the
    session, the widget tree, the stylesheet) lives as long as the app, so a
    collection meanwhile only walks live objects: a third of the wizard's
    start-up went to them. `WizardApp` restarts the collector once its first
    frame is on the screen, with those objects frozen out of later passes.
    bench/tui_startup.py imports the TUI through here, as `vpn-wizard` does.
    """
    gc.disable()
    import screens.app

    return screens.app


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
