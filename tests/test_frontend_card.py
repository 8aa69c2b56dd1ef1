"""The labeling card: served by the integration, loaded with every dashboard, its logic tested under Node."""

from __future__ import annotations

from pathlib import Path
import shutil
import subprocess
from typing import Any

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.nilm.const import CARD_URL

ROOT = Path(__file__).parent.parent


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
