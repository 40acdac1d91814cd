"""Answer `vpn-wizard --plain` on a real terminal, as a newcomer at the box's console would.

Runs ON the booted box (the standard library only: the box has python3 and
nothing else of ours). questionary draws its prompts with prompt_toolkit,
which needs a terminal: the driver starts the command on a pseudo-terminal
of its own (`pty.fork`), keeps a small model of that terminal's screen (text,
cursor movements, erasing; colours ignored; cursor position reports answered
as a terminal does) and acts on what the screen shows, never on time:

* it waits until a new question line (questionary's "? ") appears below the
  last one it answered, finds the rule whose text that question contains,
  and types that rule's keys;
* for a list (select, checkbox) it reads which line the pointer ("»") is on,
  presses Down and waits until the pointer has moved, until it is on the
  wanted line: the keys depend on what the screen shows, not on the order
  the options happen to be in;
* after the last question, each `expect` rule waits for a text and, when it
  says so, for a file the test creates (the test's "go ahead"), then types.

Usage: python3 pty_driver.py SPEC.json TRANSCRIPT -- COMMAND...

SPEC is {"rules": [{"question": TEXT, "action": ...}], "expect": [...],
"timeout": SECONDS}; actions: {"type": TEXT} (replace what is there, Enter),
{"enter": true} (the default), {"key": "y"}, {"select": LABEL},
{"check": [LABEL...]} (tick exactly these). `expect` items: {"text": TEXT,
"after_file": PATH, "type": TEXT}. The transcript (the screen as text, then
the command's exit status) is rewritten as the screen changes, so a test can
wait for a state in it; the driver's exit status is the command's. A
question no rule knows, or a state that does not come within the timeout,
ends the run with status 3 and the screen in the transcript.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path
from typing import Any

ROWS, COLS = 50, 140
DOWN, ENTER, SPACE, KILL_LINE = "\x1b[B", "\r", " ", "\x15"
POINTER = "»"
TICKED, UNTICKED = "●", "○"
QUESTION = re.compile(r"^\? ")

_CSI = re.compile(r"\x1b\[([0-9;?<=>]*)([ -/]*)([@-~])")
_OTHER_ESC = re.compile(r"\x1b(?:\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78cM])")


class Stuck(Exception):
    """The screen did not reach the state the driver waits for."""


class Screen:
    """A terminal's text, as an unbounded list of lines (enough for prompt_toolkit and rich).

    prompt_toolkit (not full-screen) moves the cursor relatively and erases
    lines; rich writes lines. Scrolling is modelled by never dropping a line:
    `top` is where a real terminal of ROWS lines would start, which is what a
    cursor position report needs.
    """

    def __init__(self) -> None:
        self.lines: list[list[str]] = [[]]
        self.row = 0
        self.col = 0
        self.replies: list[bytes] = []
        self._pending = ""

    @property
    def top(self) -> int:
        return max(0, len(self.lines) - ROWS)

    def _line(self) -> list[str]:
        while self.row >= len(self.lines):
            self.lines.append([])
        return self.lines[self.row]

    def _put(self, char: str) -> None:
        if self.col >= COLS:
            self.row += 1
            self.col = 0
        line = self._line()
        while len(line) < self.col:
            line.append(" ")
        if self.col < len(line):
            line[self.col] = char
        else:
            line.append(char)
        self.col += 1

    def feed(self, data: str) -> None:
        data = self._pending + data
        self._pending = ""
        i = 0
        while i < len(data):
            ch = data[i]
            if ch == "\x1b":
                match = _CSI.match(data, i) or _OTHER_ESC.match(data, i)
                if match is None:
                    if len(data) - i < 32:  # an escape sequence cut in two: wait for the rest
                        self._pending = data[i:]
                        return
                    i += 1
                    continue
                if match.re is _CSI:
                    self._csi(match.group(1), match.group(3))
                i = match.end()
                continue
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.row += 1
                self._line()
            elif ch == "\b":
                self.col = max(0, self.col - 1)
            elif ch >= " ":
                self._put(ch)
            i += 1

    def _csi(self, params: str, final: str) -> None:
        private = params.startswith("?")
        numbers = [int(p) if p.isdigit() else 0 for p in params.lstrip("?").split(";")] or [0]
        n = numbers[0] or 1
        if private:
            return
        if final == "A":
            self.row = max(self.top, self.row - n)
        elif final == "B":
            self.row += n
            self._line()
        elif final == "C":
            self.col = min(COLS - 1, self.col + n)
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final == "G":
            self.col = n - 1
        elif final in "Hf":
            row = numbers[0] or 1
            col = numbers[1] if len(numbers) > 1 and numbers[1] else 1
            self.row, self.col = self.top + row - 1, col - 1
            self._line()
        elif final == "K":
            line = self._line()
            mode = numbers[0]
            if mode == 0:
                del line[self.col:]
            elif mode == 1:
                line[: self.col] = [" "] * min(self.col, len(line))
            else:
                line.clear()
        elif final == "J":
            mode = numbers[0]
            if mode == 0:
                del self._line()[self.col:]
                del self.lines[self.row + 1:]
            elif mode in (2, 3):
                for line in self.lines[self.top:]:
                    line.clear()
        elif final == "n" and numbers[0] == 6:  # cursor position report, as a terminal answers
            self.replies.append(f"\x1b[{self.row - self.top + 1};{self.col + 1}R".encode())

    def text(self) -> list[str]:
        return ["".join(line).rstrip() for line in self.lines]


class Driver:
    """The command on a pty, its screen, and the keys typed into it."""

    def __init__(self, argv: list[str], transcript: Path, timeout: float) -> None:
        self.transcript = transcript
        self.timeout = timeout
        self.screen = Screen()
        self.status: int | None = None
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a login-like terminal, then the command
            os.environ["TERM"] = "xterm-256color"
            os.environ.setdefault("LANG", "C.UTF-8")
            os.execvp(argv[0], argv)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        os.kill(self.pid, signal.SIGWINCH)
        self._decoder_buffer = b""

    def _save(self) -> None:
        body = "\n".join(self.screen.text())
        tail = "" if self.status is None else f"\n[exit {self.status}]\n"
        partial = self.transcript.with_suffix(".partial")
        partial.write_text(body + "\n" + tail)
        os.replace(partial, self.transcript)

    def pump(self, wait: float) -> bool:
        """Read what the command wrote within `wait` s; False once it has exited."""
        if self.status is not None:
            return False
        ready, _, _ = select.select([self.fd], [], [], wait)
        if ready:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the command closed the terminal
                data = b""
            if data:
                raw = self._decoder_buffer + data
                try:
                    text = raw.decode()
                    self._decoder_buffer = b""
                except UnicodeDecodeError as err:  # a character cut in two
                    text = raw[: err.start].decode()
                    self._decoder_buffer = raw[err.start:]
                self.screen.feed(text)
                for reply in self.screen.replies:
                    os.write(self.fd, reply)
                self.screen.replies.clear()
                self._save()
                return True
            _, status = os.waitpid(self.pid, 0)
            self.status = os.waitstatus_to_exitcode(status)
            self._save()
            return False
        return True

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait_for(self, what: str, found: Any) -> Any:
        """Pump until `found()` returns something true; Stuck when the timeout passes."""
        deadline = time.monotonic() + self.timeout
        while True:
            result = found()
            if result:
                return result
            if time.monotonic() > deadline:
                raise Stuck(f"waited {self.timeout:.0f} s for {what}")
            if not self.pump(0.2) and not found():
                raise Stuck(f"the command exited (status {self.status}) while waiting for {what}")

    # -- reading the screen ------------------------------------------------

    def question_after(self, row: int) -> tuple[int, str] | None:
        lines = self.screen.text()
        for index in range(len(lines) - 1, row, -1):
            if QUESTION.match(lines[index]):
                return index, lines[index]
        return None

    def pointed(self, question_row: int) -> tuple[int, str] | None:
        lines = self.screen.text()
        for index in range(question_row + 1, len(lines)):
            if POINTER in lines[index]:
                return index, lines[index]
        return None

    def options(self, question_row: int) -> list[str]:
        """A checkbox's options as listed under its question (the labels, marks stripped)."""
        labels = []
        for line in self.screen.text()[question_row + 1:]:
            if TICKED in line or UNTICKED in line:
                labels.append(line.replace(POINTER, "").strip(" " + TICKED + UNTICKED))
        return labels

    # -- answering -----------------------------------------------------------

    def answer(self, row: int, action: dict[str, Any]) -> None:
        if "type" in action:
            self.send(KILL_LINE + action["type"] + ENTER)
        elif "enter" in action:
            self.send(ENTER)
        elif "key" in action:
            self.send(action["key"])
        elif "select" in action:
            self.move_to(row, action["select"])
            self.send(ENTER)
        elif "check" in action:
            self.wait_for("the list", lambda: self.pointed(row))
            for label in self.options(row):
                self.move_to(row, label)
                index, line = self.wait_for("the pointer", lambda: self.pointed(row))
                ticked = TICKED in line
                if any(w in label for w in action["check"]) != ticked:
                    self.send(SPACE)
                    self.wait_for("the tick to change", lambda i=index, t=ticked: (
                        (TICKED in self.screen.text()[i]) != t))
            self.send(ENTER)
        else:
            raise ValueError(f"unknown action {action}")

    def down(self, row: int, index: int) -> None:
        before = self.screen.text()[index]
        self.send(DOWN)
        self.wait_for("the pointer to move", lambda: (
            (p := self.pointed(row)) is not None and (p[0] != index or p[1] != before)))

    def move_to(self, row: int, label: str) -> None:
        seen: set[int] = set()
        while True:
            index, line = self.wait_for("the pointer", lambda: self.pointed(row))
            if label in line:
                return
            if index in seen:
                raise Stuck(f"no option {label!r} in the list")
            seen.add(index)
            self.down(row, index)


def main(argv: list[str]) -> int:
    sep = argv.index("--")
    spec = json.loads(Path(argv[1]).read_text())
    transcript = Path(argv[2])
    driver = Driver(argv[sep + 1:], transcript, float(spec.get("timeout", 300)))
    rules: list[dict[str, Any]] = spec["rules"]
    last = -1
    try:
        while True:
            found = driver.wait_for("the next question", lambda last=last: (
                driver.question_after(last)
                or any(e["text"] in "\n".join(driver.screen.text()[last + 1:])
                       for e in spec.get("expect", [])[:1])))
            if not isinstance(found, tuple):
                break
            row, line = found
            rule = next((r for r in rules if r["question"] in line), None)
            if rule is None:
                raise Stuck(f"a question no rule answers: {line!r}")
            driver.answer(row, rule["action"])
            last = row
            # Answered once the screen leaves this question (its answer is printed
            # after it and the next question or output follows).
            driver.wait_for("the answer", lambda row=row: len(driver.screen.text()) > row + 1 and (
                driver.question_after(row) is not None
                or POINTER not in "".join(driver.screen.text()[row + 1:])))
        for step in spec.get("expect", []):
            driver.wait_for(repr(step["text"]),
                            lambda t=step["text"]: t in "\n".join(driver.screen.text()))
            if step.get("after_file"):
                driver.wait_for(step["after_file"], lambda f=step["after_file"]: Path(f).exists())
            if "type" in step:
                driver.send(step["type"])
        while driver.pump(1.0):
            pass
    except Stuck as err:
        with open(transcript, "a") as f:
            f.write(f"\n[driver stuck: {err}]\n")
        if driver.status is None:
            os.kill(driver.pid, signal.SIGTERM)
        return 3
    return driver.status if driver.status is not None else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
