"""Run a real Home Assistant (`hass -c DIR --skip-pip`) on a loopback port with this repository's integration.

Used by scripts/develop and the end-to-end tests. Every wait is bounded; a process that dies while starting
raises with the end of its console output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re
import signal
import socket
import subprocess
import sys
import time
from typing import IO

from .hass_api import HassApiError, HassClient

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO_CONFIG_DIR = REPO_ROOT / "config"
# The labeling dashboard that configuration.yaml declares (a YAML-mode dashboard beside it).
DASHBOARD_FILE = "nilm-labels.yaml"
INTEGRATION_DIR = REPO_ROOT / "custom_components" / "nilm"
LOG_NAME = "home-assistant.log"
CONSOLE_NAME = "hass-console.log"
HOST = "127.0.0.1"

_PORT_LINE = re.compile(r"^(?P<indent>\s+server_port:\s*)\d+\s*$", re.MULTILINE)
_RECORD_START = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) (?P<level>[A-Z]+) \((?P<thread>[^)]*)\) "
    r"\[(?P<logger>[^\]]+)\] (?P<message>.*)$"
)


class HassStartError(RuntimeError):
    """Home Assistant did not come up."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record of home-assistant.log, with its continuation lines (tracebacks) in `text`."""

    time: str
    level: str
    logger: str
    text: str

    def mentions(self, needle: str) -> bool:
        """Whether the logger name or the text (message and traceback) contains `needle`."""
        return self.logger.startswith(needle) or needle in self.text


def parse_log(text: str) -> list[LogRecord]:
    """Split Home Assistant's log format into records; lines before the first record are ignored."""
    records: list[LogRecord] = []
    current: dict[str, str] | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if match := _RECORD_START.match(line):
            if current is not None:
                records.append(_record(current, lines))
            current, lines = match.groupdict(), [match["message"]]
        elif current is not None:
            lines.append(line)
    if current is not None:
        records.append(_record(current, lines))
    return records


def _record(head: dict[str, str], lines: list[str]) -> LogRecord:
    return LogRecord(
        time=head["time"], level=head["level"], logger=head["logger"], text="\n".join(lines)
    )


def errors_about(records: list[LogRecord], *needles: str) -> list[LogRecord]:
    """ERROR and CRITICAL records whose logger or text (message, traceback) one of `needles` names."""
    return [
        r
        for r in records
        if r.level in ("ERROR", "CRITICAL") and any(r.mentions(n) for n in needles)
    ]


def free_port() -> int:
    """A TCP port on the loopback interface nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could bind `port` on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def prepare_config_dir(config_dir: Path, *, port: int | None = None) -> None:
    """Make `config_dir` a configuration directory that loads this repository's integration.

    A directory other than the repository's `config/` gets the repository's configuration.yaml with
    `server_port` set to `port`, and its labeling dashboard; the integration is linked, not copied, so the
    working tree is what runs.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    if config_dir.resolve() != REPO_CONFIG_DIR.resolve():
        template = (REPO_CONFIG_DIR / "configuration.yaml").read_text(encoding="utf-8")
        if port is not None:
            template, count = _PORT_LINE.subn(rf"\g<indent>{port}", template)
            if count != 1:
                raise ValueError(
                    "config/configuration.yaml must set http: server_port exactly once"
                )
        (config_dir / "configuration.yaml").write_text(template, encoding="utf-8")
        dashboard = REPO_CONFIG_DIR / DASHBOARD_FILE
        (config_dir / DASHBOARD_FILE).write_text(
            dashboard.read_text(encoding="utf-8"), encoding="utf-8"
        )
    link = config_dir / "custom_components" / "nilm"
    link.parent.mkdir(exist_ok=True)
    if link.is_symlink() or link.exists():
        if link.resolve() == INTEGRATION_DIR.resolve():
            return
        raise FileExistsError(f"{link} exists and is not a link to {INTEGRATION_DIR}")
    # Relative inside the repository (config/ moves with the clone), absolute for a temporary directory.
    target = (
        Path("../../custom_components/nilm")
        if link.parent.parent.resolve() == REPO_CONFIG_DIR.resolve()
        else INTEGRATION_DIR
    )
    link.symlink_to(target, target_is_directory=True)


class HassProcess:
    """One Home Assistant process on HOST:`port` with configuration directory `config_dir`."""

    def __init__(self, config_dir: Path, port: int, *, python: str = sys.executable) -> None:
        """Nothing starts until `start`."""
        self.config_dir = config_dir
        self.port = port
        self.python = python
        self._process: subprocess.Popen[bytes] | None = None
        self._console: IO[bytes] | None = None
        self._past_records: list[LogRecord] = []

    @property
    def base_url(self) -> str:
        """Where the HTTP API answers."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 60.0) -> None:
        """Start hass and wait until its HTTP server answers (it does before every integration is set up)."""
        if self.running:
            raise HassStartError("Home Assistant is already running")
        if not port_is_free(self.port):
            raise HassStartError(
                f"port {self.port} on {HOST} is in use (another Home Assistant running?)"
            )
        self._console = (self.config_dir / CONSOLE_NAME).open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - a fixed command line, no shell
            [self.python, "-m", "homeassistant", "-c", str(self.config_dir), "--skip-pip"],
            stdin=subprocess.DEVNULL,
            stdout=self._console,
            stderr=subprocess.STDOUT,
            # Own process group: Ctrl-C in a terminal reaches the caller, which stops hass in order.
            start_new_session=True,
        )
        probe = HassClient(self.base_url, timeout_s=2.0)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise HassStartError(
                    f"hass exited with {self._process.returncode}:\n{self.console_tail()}"
                )
            try:
                probe.request("GET", "/api/", auth=False, expect=(200, 401))
            except HassApiError:
                time.sleep(0.2)
                continue
            return
        self.stop()
        raise HassStartError(f"hass did not answer on {self.base_url} within {timeout_s:.0f} s")

    def wait_running(self, client: HassClient, timeout_s: float = 60.0) -> None:
        """Wait until Home Assistant reports it has finished starting (every integration set up)."""
        deadline = time.monotonic() + timeout_s
        state = "unknown"
        while time.monotonic() < deadline:
            if not self.running:
                raise HassStartError(f"hass exited while starting:\n{self.console_tail()}")
            state = client.request("GET", "/api/config")["state"]
            if state == "RUNNING":
                return
            time.sleep(0.2)
        raise HassStartError(f"hass still {state} after {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """Stop hass the way a service manager does (SIGTERM: it saves its stores); kill it when it hangs."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._console is not None:
            self._console.close()
            self._console = None
        # The next start renames the log; keep this run's records.
        self._past_records.extend(self._current_records())
        return process.returncode

    def log_records(self) -> list[LogRecord]:
        """The log records of every run of this object, oldest first."""
        return [*self._past_records, *(self._current_records() if self.running else [])]

    def _current_records(self) -> list[LogRecord]:
        log = self.config_dir / LOG_NAME
        return parse_log(log.read_text(encoding="utf-8", errors="replace")) if log.exists() else []

    def console_tail(self, lines: int = 30) -> str:
        """The end of hass's console output (what it printed before its logging was set up, too)."""
        console = self.config_dir / CONSOLE_NAME
        if not console.exists():
            return ""
        return "\n".join(
            console.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        )


@dataclass
class HassInstance:
    """A running process and a client signed in to it."""

    process: HassProcess
    client: HassClient

    def restart(self, timeout_s: float = 60.0) -> None:
        """Stop Home Assistant cleanly and start it again on the same directory and port."""
        self.process.stop()
        self.process.start(timeout_s)
        self.process.wait_running(self.client, timeout_s)
