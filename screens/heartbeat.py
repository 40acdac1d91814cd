"""Step 10: the heartbeat that keeps idle tunnels from being torn down."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StepScreen
from wizard.questions import heartbeat_targets

EXPLAIN = ("AWS's dead peer detection may tear down a tunnel that carries no traffic. The "
           "document's heartbeat pings AWS's inside address of each tunnel; here it runs as a "
           "systemd service instead of a background shell loop.")


class HeartbeatScreen(StepScreen):
    """On/off, interval, and the targets it pings (AWS's inside addresses)."""

    def compose_body(self) -> ComposeResult:
        yield Static(EXPLAIN, classes="explain")
        yield self.field("choices.heartbeat")
        yield self.field("choices.heartbeat_interval")
        yield self.field("choices.fast_failover")
        yield Static("", id="targets")

    def state_changed(self) -> None:
        setup = self.wizard.setup
        if setup is None:
            return
        on = setup.choices.heartbeat
        self.query_one("#f-choices-heartbeat_interval").display = on
        self.query_one("#f-choices-fast_failover").display = on
        targets = self.query_one("#targets", Static)
        targets.display = on  # with the heartbeat off nothing is pinged: no targets to show
        text = Text("Targets: ", style="bold")
        names = (t.name for t in setup.tunnels)
        text.append(", ".join(f"{ip} ({name})" for ip, name in
                              zip(heartbeat_targets(setup), names, strict=False)))
        targets.update(text)
