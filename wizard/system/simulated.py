"""A simulated kernel and daemons, kept in one JSON file under `--root`.

`vpn-wizard apply --root DIR` writes the target's files under DIR; the links,
routes, rules, sysctls and daemons it would change on a real box live in
DIR/run/vpn-wizard-sim/kernel.json instead. The state is re-read and saved
(atomically) on every call, so it survives the process: a test can apply,
`kill -9` the wizard halfway, run `vpn-wizard rollback` in a new process and
compare the result, all without root and without touching this machine.

It behaves like the real thing where the engine depends on it: adding a link
that exists fails, an interface's sysctls exist only while the interface
does, deleting a link takes its addresses and routes with it, `iptables -D`
of an absent rule fails.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Sequence
from ipaddress import IPv4Interface
from typing import Any

from wizard.status.model import IkeSa, LinkStatus, Route, StrongswanReading
from wizard.swanctl_syntax import ParseError, defined_connections
from wizard.system.base import Address, HostError, LinkInfo, VtiInfo
from wizard.system.files import atomic_write
from wizard.system.paths import Root
from wizard.system.vici_source import initiate_command, terminate_command

STATE_PATH = "/run/vpn-wizard-sim/kernel.json"
_CONF = "net.ipv4.conf."


def default_state() -> dict[str, Any]:
    """A freshly booted box: lo and eth0, every sysctl 0, strongSwan installed but stopped."""
    return {
        "links": {
            "lo": {"kind": None, "up": True, "mtu": 65536, "vti": None,
                   "addrs": [["127.0.0.1", None, 8]]},
            "eth0": {"kind": None, "up": True, "mtu": 1500, "vti": None, "addrs": []},
        },
        "routes": [],
        "iptables": {},
        "sysctl": {},
        "strongswan": {"installed": True, "running": False, "conns": []},
        "systemd": {"pid1": True, "units": {}},
        "frr": {"installed": True, "running": False},
    }


class SimState:
    """Load-modify-save access to the simulated kernel's state file."""

    def __init__(self, root: Root, *, writable: bool = True) -> None:
        self.root = root
        self.writable = writable

    def load(self) -> dict[str, Any]:
        text = self.root.read(STATE_PATH)
        return json.loads(text) if text else default_state()

    def save(self, state: dict[str, Any]) -> None:
        if not self.writable:
            return
        local = self.root.path(STATE_PATH)
        local.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(local, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode(), 0o644)

    def update(self, change: Callable[[dict[str, Any]], None]) -> None:
        state = self.load()
        new = copy.deepcopy(state)
        change(new)
        self.save(new)


def _link(state: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        return state["links"][name]
    except KeyError:
        raise HostError(f"interface {name} does not exist") from None


class SimLinks:
    """Links, addresses and routes of the simulated kernel."""

    def __init__(self, sim: SimState, log: list[str]) -> None:
        self.sim = sim
        self.log = log

    def get(self, name: str) -> LinkInfo | None:
        link = self.sim.load()["links"].get(name)
        if link is None:
            return None
        vti = VtiInfo(**link["vti"]) if link.get("vti") else None
        return LinkInfo(name, link.get("kind"), bool(link["up"]), int(link["mtu"]), vti)

    def add_vti(self, name: str, local: str, remote: str, key: int) -> None:
        self.log.append(f"ip link add {name} type vti local {local} remote {remote} key {key}")

        def change(state: dict[str, Any]) -> None:
            if name in state["links"]:
                raise HostError(f"ip link add {name}: File exists")
            state["links"][name] = {
                "kind": "vti", "up": False, "mtu": 1480, "addrs": [],
                "vti": {"local": local, "remote": remote, "ikey": key, "okey": key},
            }

        self.sim.update(change)

    def delete(self, name: str) -> None:
        self.log.append(f"ip link del {name}")

        def change(state: dict[str, Any]) -> None:
            _link(state, name)
            del state["links"][name]
            state["routes"] = [r for r in state["routes"] if r[1] != name]
            prefix = f"{_CONF}{name}."
            state["sysctl"] = {k: v for k, v in state["sysctl"].items()
                               if not k.startswith(prefix)}

        self.sim.update(change)

    def set_link(self, name: str, *, up: bool, mtu: int) -> None:
        self.log.append(f"ip link set {name} {'up' if up else 'down'} mtu {mtu}")

        def change(state: dict[str, Any]) -> None:
            link = _link(state, name)
            link["up"], link["mtu"] = up, mtu

        self.sim.update(change)

    def addresses(self, name: str) -> list[Address]:
        link = self.sim.load()["links"].get(name)
        return [Address(*a) for a in link["addrs"]] if link else []

    def add_address(self, name: str, local: IPv4Interface, peer: IPv4Interface) -> None:
        self.log.append(f"ip addr add {local} remote {peer} dev {name}")
        entry = [str(local.ip), str(peer.ip), local.network.prefixlen]

        def change(state: dict[str, Any]) -> None:
            link = _link(state, name)
            if entry in link["addrs"]:
                raise HostError(f"ip addr add {local} dev {name}: File exists")
            link["addrs"].append(entry)

        self.sim.update(change)

    def del_address(self, name: str, local: IPv4Interface, peer: IPv4Interface) -> None:
        self.log.append(f"ip addr del {local} remote {peer} dev {name}")
        entry = [str(local.ip), str(peer.ip), local.network.prefixlen]

        def change(state: dict[str, Any]) -> None:
            link = _link(state, name)
            if entry not in link["addrs"]:
                raise HostError(f"ip addr del {local} dev {name}: Cannot assign requested address")
            link["addrs"].remove(entry)

        self.sim.update(change)

    def has_route(self, dst: str, dev: str, metric: int) -> bool:
        return [dst, dev, metric] in self.sim.load()["routes"]

    def add_route(self, dst: str, dev: str, metric: int) -> None:
        self.log.append(f"ip route add {dst} dev {dev} metric {metric}")

        def change(state: dict[str, Any]) -> None:
            _link(state, dev)
            if [dst, dev, metric] in state["routes"]:
                raise HostError(f"ip route add {dst}: File exists")
            state["routes"].append([dst, dev, metric])

        self.sim.update(change)

    def del_route(self, dst: str, dev: str, metric: int) -> None:
        self.log.append(f"ip route del {dst} dev {dev} metric {metric}")

        def change(state: dict[str, Any]) -> None:
            if [dst, dev, metric] not in state["routes"]:
                raise HostError(f"ip route del {dst}: No such process")
            state["routes"].remove([dst, dev, metric])

        self.sim.update(change)


class SimSysctl:
    """Kernel parameters of the simulated kernel; per-interface keys need the interface."""

    def __init__(self, sim: SimState, log: list[str]) -> None:
        self.sim = sim
        self.log = log

    @staticmethod
    def _exists(state: dict[str, Any], key: str) -> bool:
        if not key.startswith(_CONF):
            return True
        iface = key[len(_CONF) :].rpartition(".")[0]
        return iface in ("all", "default") or iface in state["links"]

    def get(self, key: str) -> str | None:
        state = self.sim.load()
        if not self._exists(state, key):
            return None
        return state["sysctl"].get(key, "0")

    def set(self, key: str, value: str) -> None:
        self.log.append(f"sysctl -w {key}={value}")

        def change(state: dict[str, Any]) -> None:
            if not self._exists(state, key):
                raise HostError(f"sysctl -w {key}={value}: No such file or directory")
            # Only values other than the kernel's default "0" are kept, so a value
            # set back compares equal to one never touched.
            if value == "0":
                state["sysctl"].pop(key, None)
            else:
                state["sysctl"][key] = value

        self.sim.update(change)


class SimIptables:
    """Rule lists per table and chain, compared as argv."""

    def __init__(self, sim: SimState, log: list[str]) -> None:
        self.sim = sim
        self.log = log

    def present(self, table: str, chain: str, rule: Sequence[str]) -> bool:
        return list(rule) in self.sim.load()["iptables"].get(table, {}).get(chain, [])

    def surely_absent(self, table: str, chain: str, rule: Sequence[str]) -> bool:
        return not self.present(table, chain, rule)

    def append(self, table: str, chain: str, rule: Sequence[str]) -> None:
        self.log.append(" ".join(["iptables", "-t", table, "-A", chain, *rule]))
        self.sim.update(
            lambda s: s["iptables"].setdefault(table, {}).setdefault(chain, []).append(list(rule))
        )

    def delete(self, table: str, chain: str, rule: Sequence[str]) -> None:
        self.log.append(" ".join(["iptables", "-t", table, "-D", chain, *rule]))

        def change(state: dict[str, Any]) -> None:
            rules = state["iptables"].get(table, {}).get(chain, [])
            if list(rule) not in rules:
                raise HostError(f"iptables -t {table} -D {chain}: Bad rule (does a matching "
                                "rule exist in that chain?)")
            rules.remove(list(rule))
            # Built-in chains always exist: an empty one is the same as none.
            if not rules:
                del state["iptables"][table][chain]
                if not state["iptables"][table]:
                    del state["iptables"][table]

        self.sim.update(change)


_CONN = re.compile(r"^conn\s+(\S+)", re.MULTILINE)


class SimStrongswan:
    """A daemon that "loads" the conns of the root's /etc/ipsec.conf on restart."""

    def __init__(self, sim: SimState, root: Root, log: list[str]) -> None:
        self.sim = sim
        self.root = root
        self.log = log

    def installed(self) -> bool:
        return bool(self.sim.load()["strongswan"]["installed"])

    def running(self) -> bool:
        return bool(self.sim.load()["strongswan"]["running"])

    def loaded_conns(self) -> set[str]:
        return set(self.sim.load()["strongswan"]["conns"]) if self.running() else set()

    def restart(self, conns: Sequence[str], timeout: float = 30.0) -> None:
        self._load("restart", conns)

    def start(self, conns: Sequence[str], timeout: float = 30.0) -> None:
        self._load("start", conns)

    def _load(self, verb: str, conns: Sequence[str]) -> None:
        if not self.installed():
            raise HostError("ipsec: command not found (is strongSwan installed?)")
        self.log.append(f"ipsec {verb}")
        text = self.root.read("/etc/ipsec.conf") or ""
        loaded = sorted(set(_CONN.findall(text)) - {"%default"})

        def change(state: dict[str, Any]) -> None:
            state["strongswan"].update(running=True, conns=loaded)

        self.sim.update(change)
        missing = set(conns) - set(loaded)
        if missing:
            raise HostError(f"ipsec {verb}: {', '.join(sorted(missing))} not loaded")

    def stop(self) -> None:
        self.log.append("ipsec stop")

        def change(state: dict[str, Any]) -> None:
            state["strongswan"].update(running=False, conns=[])
            state["strongswan"].pop("initiated", None)

        self.sim.update(change)

    # The swanctl backend: the same daemon, "loading" /etc/swanctl/conf.d/*.conf.

    def swanctl_installed(self) -> bool:
        return bool(self.sim.load()["strongswan"].get("swanctl", True))

    def swanctl_conns(self) -> set[str] | None:
        state = self.sim.load()["strongswan"]
        return set(state.get("vici_conns", [])) if state["running"] else None

    def load_swanctl(self, conns: Sequence[str], *, restart: bool, timeout: float = 30.0) -> None:
        if not self.swanctl_installed():
            raise HostError("swanctl: command not found (install strongswan-swanctl)")
        if restart:
            self.log.append("systemctl restart strongswan")
        self.log.append("swanctl --load-all --noprompt")
        loaded: set[str] = set()
        conf_d = self.root.path("/etc/swanctl/conf.d")
        for path in sorted(conf_d.glob("*.conf")) if conf_d.is_dir() else []:
            try:
                loaded.update(defined_connections(path.read_text(encoding="utf-8")))
            except ParseError as err:
                raise HostError(f"swanctl --load-all: {path.name}: {err}") from None

        def change(state: dict[str, Any]) -> None:
            state["strongswan"].update(running=True, vici_conns=sorted(loaded))

        self.sim.update(change)
        missing = set(conns) - loaded
        if missing:
            raise HostError(f"swanctl --load-all: {', '.join(sorted(missing))} not loaded")

    def stop_swanctl(self) -> None:
        self.log.append("systemctl stop strongswan")

        def change(state: dict[str, Any]) -> None:
            state["strongswan"].update(running=False, vici_conns=[])
            state["strongswan"].pop("initiated", None)

        self.sim.update(change)

    # The status panel's keys. No peer answers a simulated daemon, so an
    # initiated conn stays CONNECTING until it is terminated or the daemon stops.

    def initiate(self, name: str) -> None:
        self.log.append(initiate_command(name))

        def change(state: dict[str, Any]) -> None:
            daemon = state["strongswan"]
            loaded = set(daemon.get("conns", [])) | set(daemon.get("vici_conns", []))
            if not daemon["running"]:
                raise HostError(f"initiate {name}: strongSwan is not running (simulated)")
            if name not in loaded:
                raise HostError(f"initiate {name}: no connection {name} is loaded (simulated)")
            daemon["initiated"] = sorted({*daemon.get("initiated", []), name})

        self.sim.update(change)

    def terminate(self, name: str) -> None:
        self.log.append(terminate_command(name))

        def change(state: dict[str, Any]) -> None:
            daemon = state["strongswan"]
            if name not in daemon.get("initiated", []):
                raise HostError(f"terminate {name}: no IKE SA found (simulated)")
            daemon["initiated"] = [n for n in daemon["initiated"] if n != name]
            if not daemon["initiated"]:
                del daemon["initiated"]

        self.sim.update(change)


class SimFrr:
    """FRR as two flags; "installed": false exercises preflight's and apply's message."""

    def __init__(self, sim: SimState, log: list[str]) -> None:
        self.sim = sim
        self.log = log

    def _state(self) -> dict[str, Any]:
        return dict(self.sim.load().get("frr", {"installed": True, "running": False}))

    def installed(self) -> bool:
        return bool(self._state().get("installed", True))

    def running(self) -> bool:
        return bool(self._state().get("running"))

    def _set(self, running: bool) -> None:
        def change(state: dict[str, Any]) -> None:
            state.setdefault("frr", {"installed": True})["running"] = running

        self.sim.update(change)

    def restart(self) -> None:
        if not self.installed():
            raise HostError("FRR is not installed (/usr/lib/frr/frrinit.sh is missing): "
                            "apt-get install frr")
        self.log.append("/usr/lib/frr/frrinit.sh restart")
        self._set(True)

    def stop(self) -> None:
        self.log.append("/usr/lib/frr/frrinit.sh stop")
        self._set(False)

    def vtysh_json(self, command: str) -> str | None:
        return None


class SimSystemd:
    """Units as two flags each; PID 1 may be "not systemd" to exercise the skip."""

    def __init__(self, sim: SimState, log: list[str]) -> None:
        self.sim = sim
        self.log = log

    def unavailable(self) -> str | None:
        if self.sim.load()["systemd"]["pid1"]:
            return None
        return "systemd is not running on this box (simulated: PID 1 is not systemd)"

    def daemon_reload(self) -> None:
        self.log.append("systemctl daemon-reload")

    def unit_state(self, unit: str) -> tuple[bool, bool]:
        entry = self.sim.load()["systemd"]["units"].get(unit, {})
        return bool(entry.get("enabled")), bool(entry.get("active"))

    def _set(self, unit: str, enabled: bool, active: bool) -> None:
        def change(state: dict[str, Any]) -> None:
            units = state["systemd"]["units"]
            if enabled or active:
                units[unit] = {"enabled": enabled, "active": active}
            else:  # a disabled, stopped unit is as good as an unknown one
                units.pop(unit, None)

        self.sim.update(change)

    def enable_now(self, unit: str) -> None:
        self.log.append(f"systemctl enable --now {unit}")
        self._set(unit, True, True)

    def restart(self, unit: str) -> None:
        self.log.append(f"systemctl restart {unit}")
        enabled, _ = self.unit_state(unit)
        self._set(unit, enabled, True)

    def disable_now(self, unit: str) -> None:
        self.log.append(f"systemctl disable --now {unit}")
        self._set(unit, False, False)


SIM_SOURCE = "simulated kernel (mangle table)"


class SimStatusReaders:
    """The simulated kernel under `--root`, read for the status panel; it never saves.

    It answers what `wizard.status.live.HostReaders` answers on a real box, from
    the same file the simulated adapters change, so `vpn-wizard status --root
    DIR` after `apply --root DIR` shows the links, routes and rules apply
    made there, and nothing of this machine. No peer answers a simulated
    daemon: a conn is CONNECTING once initiated, never ESTABLISHED.
    """

    def __init__(self, root: Root) -> None:
        self.sim = SimState(root, writable=False)

    def _load(self) -> dict[str, Any]:
        try:
            return self.sim.load()
        except (OSError, ValueError) as err:
            raise HostError(f"the simulated kernel's state {STATE_PATH} is unreadable: "
                            f"{err}") from None

    def strongswan(self, notes: list[str]) -> StrongswanReading:
        try:
            daemon = self._load()["strongswan"]
        except (HostError, KeyError, TypeError) as err:
            notes.append(str(err))
            return "simulated", False, "simulated state unreadable", [], None
        if not daemon.get("installed", True):
            return "simulated", False, "not installed (simulated)", [], None
        if not daemon.get("running"):
            return "simulated", False, "simulated daemon stopped", [], None
        conns = sorted({*daemon.get("conns", []), *daemon.get("vici_conns", [])})
        sas = [IkeSa(name, "CONNECTING") for name in daemon.get("initiated", [])]
        return "simulated", True, "strongSwan (simulated, no peer)", sas, conns

    def links(self, names: Sequence[str]) -> tuple[dict[str, LinkStatus], list[Route]]:
        state = self._load()
        found: dict[str, LinkStatus] = {}
        for name in names:
            link = state["links"].get(name)
            if link is None:
                continue
            vti = link.get("vti") or {}
            found[name] = LinkStatus(
                name=name,
                up=bool(link["up"]),
                mtu=int(link["mtu"]),
                kind=link.get("kind"),
                ikey=vti.get("ikey"),
                okey=vti.get("okey"),
                local=vti.get("local"),
                remote=vti.get("remote"),
                addresses=tuple(
                    (f"{local}/{prefix}", f"{peer}/{prefix}" if peer else None)
                    for local, peer, prefix in link.get("addrs", [])
                ),
            )
        routes = [Route(str(dst), dev, metric) for dst, dev, metric in state["routes"]]
        return found, routes

    def mangle(self) -> tuple[list[str] | None, str]:
        try:
            chains = self._load()["iptables"].get("mangle", {})
        except (HostError, KeyError, TypeError, AttributeError) as err:
            return None, str(err)
        return [" ".join(["-A", chain, *rule]) for chain, rules in chains.items()
                for rule in rules], SIM_SOURCE

    def watch_strongswan(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        """Nothing to listen to: the panel keeps to its interval refresh."""

    def watch_netlink(self, stop: threading.Event, notify: Callable[[str], None]) -> None:
        """Nothing to listen to: the panel keeps to its interval refresh."""
