"""The labeling card: served by the integration, loaded with every dashboard, its logic tested under Node."""

from __future__ import annotations

import html
import json
from pathlib import Path
import re
import shutil
import subprocess
from typing import Any

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.nilm.const import CARD_URL
from nilm_tools.browser import HEADLESS_FLAGS, chromium_binary

ROOT = Path(__file__).parent.parent
CARD = ROOT / "custom_components" / "nilm" / "frontend" / "nilm-label-card.js"
# Home Assistant's ha-card, reduced to what the card uses: a header and its children.
HA_CARD = """
customElements.define("ha-card", class extends HTMLElement {
  set header(text) { this._header = text; }
  get header() { return this._header; }
});
"""


def test_card_logic_under_node() -> None:
    """The card's controller (listing, labeling, errors) passes its tests in Node's test runner."""
    node = shutil.which("node")
    assert node, "node is missing: the card's tests need Node.js (Debian package nodejs)"
    result = subprocess.run(
        [node, "--test", "tests/frontend/label_card.test.mjs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


async def test_the_card_is_served_and_loaded_with_every_dashboard(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    power_sensor: str,
    setup_entry: Any,
) -> None:
    assert await async_setup_component(hass, "frontend", {})
    await setup_entry(mock_config_entry)
    client = await hass_client()
    response = await client.get(CARD_URL)
    assert response.status == 200
    assert "javascript" in response.headers["Content-Type"]
    assert "customElements.define(CARD_TYPE" in await response.text()
    urls = hass.data[DATA_EXTRA_MODULE_URL].urls
    assert [url for url in urls if url.startswith(f"{CARD_URL}?v=")]


async def test_without_a_frontend_the_card_is_only_served(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    assert "frontend" not in hass.config.components
    client = await hass_client()
    assert (await client.get(CARD_URL)).status == 200


def test_card_in_a_real_browser(tmp_path: Path) -> None:
    """Headless Chromium draws the card, keeps typed names across a refresh, labels, ignores, shows refusals."""
    browser = chromium_binary()
    assert browser, (
        "Chromium is missing: apt install chromium, or set NILM_CHROMIUM to a Chrome binary"
    )
    page = tmp_path / "card.html"
    driver = (ROOT / "tests" / "frontend" / "card_in_browser.js").read_text()
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'></head><body><pre id='result'></pre>"
        f"<script>{HA_CARD}</script>"
        f"<script type='module'>{CARD.read_text()}</script>"
        f"<script type='module'>{driver}</script></body></html>"
    )
    result = subprocess.run(
        [
            browser,
            *HEADLESS_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r'<pre id="result">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stderr[-2000:]
    assert found.group(1), result.stderr[-2000:]
    seen = json.loads(html.unescape(found.group(1)))
    assert "failure" not in seen, seen.get("failure")
    assert seen["header"] == "To label (2)"
    assert [r["title"] for r in seen["rows"]] == [
        "Unknown device g1: about +1.2 kW, seen 14 times",
        "Switched off \u221295 W",
        "Switched on +2.0 kW",
    ]
    assert seen["rows"][2]["inputs"] == ["Kettle", ""]
    assert seen["rows"][0]["buttons"] == ["Label"]
    assert seen["rows"][1]["buttons"] == ["Label", "Ignore"]
    assert seen["choices"] == ["Kettle", "Washer"]
    assert "nilm-label-card" in seen["picker"]
    assert seen["kept"] == ["Fridge", "compressor"]
    assert seen["label"][0] == {"event_id": "e9", "appliance": "Fridge", "state": "compressor"}
    assert seen["error"] == "Unknown event e9"
    assert "ignore_event" in seen["services"]
    assert seen["group"] == [{"group_id": "g1", "appliance": "Heater"}]
    assert seen["teach"] == [{"appliance": "Dryer", "duration": 120}]
    assert seen["notice"] == "Switch Dryer on, then off, within 2 minutes."
    assert seen["edited"] == "Edited (2)"
