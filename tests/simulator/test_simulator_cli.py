"""Replay, pacing and the command line, including runs against Home Assistant's real endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import csv
import json
from pathlib import Path

from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nilm.meter import MeterInfo, MeterReading
from custom_components.nilm.webhook import async_register_meter_webhook
from nilm_tools.simulator import CsvFormatError, MeterSample, play, playback, replay_samples
from nilm_tools.simulator.__main__ import main, resolve_start
from nilm_tools.simulator.playback import chunks

# Three rows in the format of the shared lab recording (kehkok/nilmtk-ukdale, MIT), values made up here.
NILM_CSV = """# test recording
timestamp,mains_p,mains_q,mains_i,mains_pf,kettle
1664293952,16.25,15.01,0.09,0.73,0.00
1664293953,2016.54,14.71,8.79,0.99,2000.00
1664293955,,14.71,8.79,0.99,2000.00
1664293956,16.42,15.33,0.09,0.73,0.00
"""


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "house.csv"
    path.write_text(NILM_CSV, encoding="utf-8")
    return path


def test_replay_reads_the_mains_and_skips_missing_power(recording: Path) -> None:
    samples = replay_samples(recording, start=1000.0)
    assert [s.t for s in samples] == [1000.0, 1001.0, 1004.0]
    assert samples[1] == MeterSample(t=1001.0, p=2016.5, i=8.79, e=0.0, pf=0.99)
    # The energy counter integrates P in whole Wh (4066 Ws here), bridging the row without power.
    assert [s.e for s in samples] == [0.0, 0.0, 1.0]


def test_replay_accepts_a_recording_of_the_mains_alone(tmp_path: Path) -> None:
    path = tmp_path / "mains.csv"
    path.write_text("timestamp,mains_p\n10,100\n11,nan\n12,300\n", encoding="utf-8")
    assert [(s.t, s.p) for s in replay_samples(path)] == [(10.0, 100.0), (12.0, 300.0)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no header"),
        ("timestamp,p\n1,2\n", "needs 'timestamp' and 'mains_p'"),
        ("timestamp,mains_p\n1,2,3\n", "line 2 has 3 cells"),
        ("timestamp,mains_p\n2,1\n1,1\n", "not sorted"),
        ("timestamp,mains_p\n1,watts\n", "line 2"),
    ],
)
def test_malformed_recordings_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CsvFormatError, match=message):
        replay_samples(path)


def test_chunks_follow_the_posting_period() -> None:
    samples = [MeterSample(t=float(t), p=1.0) for t in (0, 1, 4, 5, 6, 17)]
    assert [[s.t for s in c] for c in chunks(samples, 5.0)] == [[0, 1, 4], [5, 6], [17]]
    assert len(chunks(samples, 0.0)) == 6


async def test_play_paces_chunks_by_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each chunk goes out when its last sample is due; a clock that moves only by sleeping shows exactly when."""
    clock = [100.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr(playback.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(playback.asyncio, "sleep", sleep)
    samples = [MeterSample(t=float(t), p=1.0) for t in range(11)]
    seen: list[tuple[float, int]] = []

    async def deliver(chunk: list[MeterSample]) -> None:
        seen.append((round(clock[0] - 100.0, 6), len(chunk)))

    await play(samples, deliver, speed=100.0, batch_seconds=5.0)
    # Sample times 4, 9 and 10 s at 100x: 0.04, 0.09 and 0.1 s after the start.
    assert seen == [(0.04, 5), (0.09, 5), (0.1, 1)]


@pytest.mark.parametrize(
    ("start", "speed", "expected"),
    [
        ("now", 10.0, 5000.0),
        ("1234.5", 1.0, 1234.5),
        (None, 1.0, 5000.0),
        (None, 10.0, 4100.0),
        (None, 0.0, 4000.0),
    ],
)
def test_start_keeps_timestamps_out_of_the_future(
    start: str | None, speed: float, expected: float
) -> None:
    assert resolve_start(start, 1000.0, speed, now=5000.0) == expected


def test_household_to_nilm_csv_with_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "house.csv"
    assert (
        main(["--write-csv", str(out), "--duration", "120", "--seed", "4", "--start", "1700000000"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {"target": str(out), "samples": 120}
    rows = list(csv.reader(line for line in out.open() if not line.startswith("#")))
    assert rows[0][:6] == ["timestamp", "mains_p", "mains_q", "mains_i", "mains_v", "mains_pf"]
    assert "fridge" in rows[0]
    assert len(rows) == 121
    assert float(rows[1][0]) == 1700000000.0


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--url", "http://x/api/webhook/y"],
        ["--ha-url", "http://x", "--token", "t"],
        ["--write-csv", "a.csv", "--url", "http://x", "--key", "k"],
        ["--write-csv", "a.csv", "--speed", "-1"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_unreadable_csv_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.csv"
    assert main(["--csv", str(missing), "--write-csv", str(tmp_path / "o.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err


async def test_replay_into_the_meter_webhook(
    hass: HomeAssistant,
    hass_client_no_auth: Callable[[], Awaitable[TestClient]],
    recording: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    entry = MockConfigEntry(domain="nilm", data={"webhook_id": "cd" * 32, "api_key": "k"})
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "webhook", {})
    delivered: list[tuple[MeterInfo, list[MeterReading]]] = []
    async_register_meter_webhook(
        hass, entry, lambda info, readings: delivered.append((info, readings))
    )
    url = str((await hass_client_no_auth()).make_url(f"/api/webhook/{'cd' * 32}"))
    argv = [
        "--csv",
        str(recording),
        "--url",
        url,
        "--key",
        "k",
        "--speed",
        "0",
        "--device-id",
        "lab",
    ]
    # The CLI runs its own event loop; Home Assistant's keeps serving in this one.
    assert await hass.async_add_executor_job(main, argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["samples"], summary["accepted"], summary["failures"]) == (3, 3, 0)
    assert [r.p for _, batch in delivered for r in batch] == [16.2, 2016.5, 16.4]
    assert delivered[0][0].device_id == "lab"


async def test_household_into_a_home_assistant_sensor(
    hass: HomeAssistant,
    hass_client: Callable[[], Awaitable[TestClient]],
    hass_access_token: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await async_setup_component(hass, "api", {})
    base = str((await hass_client()).make_url("/"))
    argv = ["--ha-url", base, "--token", hass_access_token, "--entity", "sensor.sim_power"]
    argv += ["--duration", "3", "--speed", "0", "--seed", "1"]
    assert await hass.async_add_executor_job(main, argv) == 0
    assert json.loads(capsys.readouterr().out)["updates"] == 3
    state = hass.states.get("sensor.sim_power")
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "W"
    assert float(state.state) > 0
    bad = [*argv[:3], "wrong-token", *argv[4:]]
    assert await hass.async_add_executor_job(main, bad) == 1
