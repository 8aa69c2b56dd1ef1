"""The webhook benchmark runs end to end (tiny sizes; the numbers themselves are reported, not tested)."""

from __future__ import annotations

import json

import pytest

from nilm_tools.simulator.bench import main


def test_bench_pushes_every_sample_through_home_assistant(
    socket_enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--meters", "2", "--batches", "3", "--samples", "7"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["batches"], result["samples"], result["retries"]) == (6, 42, 0)
    assert result["delivered_to_integration"] == 42
    assert result["samples_per_s"] > 0


def test_bench_refuses_oversized_batches() -> None:
    with pytest.raises(SystemExit):
        main(["--samples", "601"])
