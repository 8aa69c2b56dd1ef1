"""scripts/develop: a real Home Assistant on 127.0.0.1:8123 with this integration and a simulated home.

First run: onboarding for a local-only development user, a NILM meter entry created through the config flow,
the last hour of a simulated household replayed quickly and then fed live through the meter webhook, the first
events of a few appliances labeled from the simulator's ground truth, and every appliance selected in the
Energy dashboard. Later runs reuse config/ (the user, the entry, the labels) and resume the feed.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import asdict, dataclass
import json
import math
from pathlib import Path
import secrets
import shutil
import signal
import sys
import time
from types import FrameType

from .feeder import Feeder
from .ground_truth import DISPLAY_NAMES, TruthLog, event_time
from .hass_api import HassApiError, HassClient
from .hass_auth import (
    Account,
    create_long_lived_token,
    finish_onboarding,
    login,
    make_owner_local_only,
    onboard,
    onboarding_status,
    promote_pending_http_config,
    token_works,
)
from .hass_process import REPO_CONFIG_DIR, HassProcess, HassStartError, prepare_config_dir
from .nilm_api import (
    DOMAIN,
    MeterEntry,
    appliance_entities,
    create_meter_entry,
    label_event,
    list_events,
    meter_entry,
    seed_energy_dashboard,
)
from .simulator import Household

PORT = 8123
STATE_FILE = REPO_CONFIG_DIR / ".develop.json"
METER_NAME = "Simulated meter"
# Appliances the script labels itself (their first few events), so identification shows from the start; the
# others are left for the user to label.
PRELABELED = ("kettle", "fridge", "tv")
LABELS_PER_APPLIANCE = 3
# A meter buffers at most a day; after a longer pause the feed starts over this far in the past.
MAX_RESUME_GAP_S = 6 * 3600.0
TICK_S = 5.0


class DevelopError(RuntimeError):
    """Something the user must fix; the message says what."""


@dataclass
class DevState:
    """What scripts/develop remembers between runs (config/.develop.json, git-ignored)."""

    name: str
    username: str
    password: str
    token: str
    fed_until: float | None = None

    @property
    def account(self) -> Account:
        """The development login."""
        return Account(self.name, self.username, self.password)

    @classmethod
    def load(cls, path: Path) -> DevState | None:
        """The saved state, None when there is none."""
        if not path.exists():
            return None
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as err:
            raise DevelopError(
                f"{path} is unreadable ({err}); run scripts/develop --reset"
            ) from err

    def save(self, path: Path) -> None:
        """Write the state readable by the owner only (it holds a password and a token)."""
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        path.chmod(0o600)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description="Run Home Assistant on http://127.0.0.1:8123 with NILM and a simulated home.",
    )
    parser.add_argument(
        "--reset", action="store_true", help="delete config/'s state first and start over"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=20.0,
        help="how fast past data is replayed before going live (20)",
    )
    parser.add_argument(
        "--history",
        type=float,
        default=60.0,
        help="minutes of past data replayed on the first run (60)",
    )
    parser.add_argument("--seed", type=int, default=1, help="simulated household (1)")
    parser.add_argument(
        "--activity",
        type=float,
        default=4.0,
        help="how busy the household is; 1 is a real home (4)",
    )
    args = parser.parse_args(argv)
    if not (math.isfinite(args.speed) and args.speed >= 1.0):
        parser.error("--speed must be >= 1")
    if not (math.isfinite(args.history) and 0.0 <= args.history <= 24 * 60):
        parser.error("--history must be between 0 and 1440 minutes")
    if not (math.isfinite(args.activity) and args.activity > 0):
        parser.error("--activity must be > 0")
    return args


def reset(config_dir: Path) -> None:
    """Remove everything Home Assistant and this script wrote into config/ (configuration.yaml stays)."""
    for path in config_dir.iterdir():
        if path.name == "configuration.yaml":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    print(f"[develop] reset {config_dir}")


def sign_in(client: HassClient) -> DevState:
    """Onboard a fresh instance, or sign in to one this script onboarded before."""
    state = DevState.load(STATE_FILE)
    if onboarding_status(client).get("user") is False:
        account = Account("Developer", "dev", secrets.token_urlsafe(12))
        onboard(client, account, complete=True)
        make_owner_local_only(client)
        token = create_long_lived_token(client, "scripts/develop")
        state = DevState(account.name, account.username, account.password, token)
        state.save(STATE_FILE)
        return state
    if state is None:
        raise DevelopError(
            f"config/ was onboarded without scripts/develop (no {STATE_FILE.name}); "
            "run scripts/develop --reset to start over"
        )
    client.token = state.token
    if not token_works(client):
        login(client, state.account)
        state.token = create_long_lived_token(client, "scripts/develop")
        state.save(STATE_FILE)
    finish_onboarding(client)
    return state


def remove_failed_onboarding_entries(client: HassClient) -> None:
    """Drop the default integrations onboarding adds that cannot run here (their packages are not installed)."""
    for entry in client.request("GET", "/api/config/config_entries/entry"):
        if entry["source"] == "onboarding" and entry["state"] == "setup_error":
            client.delete_config_entry(entry["entry_id"])


def ensure_meter(client: HassClient) -> MeterEntry:
    """The NILM meter entry, created through the config flow on the first run."""
    entries = client.config_entries(DOMAIN)
    if not entries:
        meter = create_meter_entry(client, METER_NAME)
        print(f"[develop] created the NILM entry {meter.title!r} through the config flow")
        return meter
    return meter_entry(client, entries[0]["entry_id"])


class Labeler:
    """Labels the first events of the pre-labeled appliances from the simulator's truth."""

    def __init__(self, client: HassClient, entry_id: str, truth: TruthLog) -> None:
        """Count labels per appliance already given in earlier runs."""
        self.client = client
        self.entry_id = entry_id
        self.truth = truth
        labeled = list_events(client, entry_id, "labeled")["events"]
        self.counts = Counter(e["label"] for e in labeled)

    def tick(self) -> None:
        """Label pending events of pre-labeled appliances that still have fewer labels than wanted."""
        wanted = {
            DISPLAY_NAMES[a]
            for a in PRELABELED
            if self.counts[DISPLAY_NAMES[a]] < LABELS_PER_APPLIANCE
        }
        if not wanted:
            return
        for event in list_events(self.client, self.entry_id, "pending")["events"]:
            appliance = self.truth.appliance_at(event_time(event), float(event["step"]))
            name = DISPLAY_NAMES.get(appliance or "")
            if name in wanted and self.counts[name] < LABELS_PER_APPLIANCE:
                label_event(self.client, self.entry_id, event["event_id"], name)
                self.counts[name] += 1
                print(
                    f"[develop] labeled event {event['event_id']} ({event['step']:+.0f} W) as {name}"
                )


def banner(
    process: HassProcess,
    state: DevState,
    meter: MeterEntry,
    args: argparse.Namespace,
    start_t: float,
) -> str:
    """What to open and what to try."""
    behind = max(0.0, time.time() - start_t)
    feed = (
        f"replaying the last {behind / 60:.0f} min at {args.speed:g}x, then live"
        if behind > 10
        else "live (1 sample per second)"
    )
    return f"""
  Home Assistant: {process.base_url}
  Login:          {state.username} / {state.password}   (local network only)
  Meter webhook:  {meter.webhook_url}
  Meter API key:  {meter.api_key}
  Simulator:      household seed {args.seed}, activity {args.activity:g}; {feed}

  Try:
  - Settings > Devices & services > NILM: the meter and one device per appliance.
    {", ".join(DISPLAY_NAMES[a] for a in PRELABELED)} get labeled from their first events; watch them switch on and off.
  - Label events (sidebar, {process.base_url}/nilm-labels/label): the labeling card lists unidentified
    events; name them there (the lights and the washing machine are left for you), or teach one.
  - Developer tools > Actions: nilm.list_events and nilm.label_event do the same by hand.
  - Energy dashboard: every appliance is an individual device (history fills in as statistics compile).
  - Logs: config/home-assistant.log

  Ctrl-C stops everything; run again to continue; scripts/develop --reset starts over.
"""


def _check_alive(process: HassProcess, feeder: Feeder) -> None:
    if not process.running:
        raise DevelopError(f"Home Assistant stopped:\n{process.console_tail()}")
    if feeder.error is not None:
        raise DevelopError(f"the simulator stopped: {feeder.error}")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Start, set up, feed, and stop cleanly on Ctrl-C or SIGTERM."""
    if args.reset:
        reset(REPO_CONFIG_DIR)
    prepare_config_dir(REPO_CONFIG_DIR)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    process = HassProcess(REPO_CONFIG_DIR, PORT)
    feeder: Feeder | None = None
    state: DevState | None = None
    try:
        print(
            f"[develop] starting Home Assistant ({process.base_url}, config in {REPO_CONFIG_DIR})"
        )
        process.start()
        client = HassClient(process.base_url)
        state = sign_in(client)
        process.wait_running(client)
        if promote_pending_http_config(client):
            print("[develop] confirmed the HTTP settings of configuration.yaml (loopback only)")
        remove_failed_onboarding_entries(client)
        meter = ensure_meter(client)
        truth = TruthLog()
        now = time.time()
        resume = (
            state.fed_until
            if state.fed_until and now - state.fed_until < MAX_RESUME_GAP_S
            else None
        )
        start_t = resume if resume is not None else now - args.history * 60.0
        feeder = Feeder(
            meter.webhook_url,
            meter.api_key,
            Household(args.seed, activity=args.activity),
            truth,
            start_t=start_t,
            speed=args.speed,
        )
        feeder.start()
        print(banner(process, state, meter, args, start_t))
        labeler = Labeler(client, meter.entry_id, truth)
        known: set[str] = set()
        while True:
            _check_alive(process, feeder)
            labeler.tick()
            appliances = {a.energy for a in appliance_entities(client, meter.entry_id) if a.energy}
            if appliances != known:
                seed_energy_dashboard(client, meter.entry_id)
                known = appliances
            state.fed_until = feeder.fed_until
            state.save(STATE_FILE)
            time.sleep(TICK_S)
    except KeyboardInterrupt:
        print("\n[develop] stopping")
    except (DevelopError, HassStartError, HassApiError) as err:
        print(f"[develop] error: {err}", file=sys.stderr)
        return 1
    finally:
        if feeder is not None:
            feeder.stop()
            if state is not None:
                state.fed_until = feeder.fed_until
                state.save(STATE_FILE)
        code = process.stop()
        print(f"[develop] Home Assistant stopped (exit code {code})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of scripts/develop."""
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
