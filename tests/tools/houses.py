"""Generated NILM-CSV houses for the tools' tests (no external data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def kettle_runs(n: int) -> np.ndarray:
    """A 2 kW kettle on for 150 s every 900 s."""
    kettle = np.zeros(n)
    for start in range(200, n - 400, 900):
        kettle[start : start + 150] = 2000.0
    return kettle


def house(path: Path, days: float = 1.0, seed: int = 3, lamp_w: float = 100.0) -> None:
    """A 1 Hz house with a kettle (2 kW) and a lamp (100 W unless said) switching on and off many times."""
    rng = np.random.default_rng(seed)
    n = int(days * 86_400 / 4)
    t = 1.7e9 + np.arange(n, dtype=float)
    kettle = kettle_runs(n)
    lamp = np.zeros(n)
    for start in range(500, n - 800, 1300):
        lamp[start : start + 600] = lamp_w
    write_house(path, t, 120.0 + kettle + lamp + rng.normal(0, 2, n), kettle=kettle, lamp=lamp)


def write_house(path: Path, t: np.ndarray, mains: np.ndarray, **truth: np.ndarray) -> None:
    """NILM-CSV with 1 W truth columns and 0.1 W mains."""
    columns = [t, mains, *truth.values()]
    rows = "\n".join(
        ",".join([f"{row[0]:.0f}", f"{row[1]:.1f}", *(f"{x:.0f}" for x in row[2:])])
        for row in zip(*columns, strict=True)
    )
    header = ",".join(["timestamp", "mains_p", *truth])
    path.write_text(f"# generated\n{header}\n{rows}\n", encoding="utf-8")
