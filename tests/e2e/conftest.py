"""End-to-end fixtures: one real `hass` process for the session, on a free loopback port, in a temporary
configuration directory, with this repository's integration linked in.

The tests are plain synchronous functions: they talk to Home Assistant over HTTP and WebSocket like any client,
so they never share an event loop with pytest-homeassistant-custom-component's plugin. That plugin blocks socket
creation before every test (loopback connections stay allowed); the fixtures here re-enable it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_socket

from nilm_tools.hass_api import HassClient
from nilm_tools.hass_auth import (
    Account,
    create_long_lived_token,
    finish_onboarding,
    login,
    onboard,
    promote_pending_http_config,
)
from nilm_tools.hass_process import HassInstance, HassProcess, free_port, prepare_config_dir

ACCOUNT = Account("End to end", "e2e", "e2e-password-not-secret")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that selects these tests (`pytest -m e2e`, or `-m "not e2e"` to skip them)."""
    config.addinivalue_line("markers", "e2e: end-to-end test against a real Home Assistant process")


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup() -> None:
    """Allow sockets again before any fixture of these tests is set up (so for the test itself too).

    The plugin blocks socket creation in its pytest_runtest_setup, before fixtures are set up; connections stay
    limited to 127.0.0.1 by its allow-list.
    """
    pytest_socket.enable_socket()


@pytest.fixture(scope="session")
def frontend_ready(hass_instance: HassInstance) -> None:
    """Onboarding completed, so dashboards are served (its last steps need a password login, as in a browser)."""
    pytest_socket.enable_socket()
    browser = HassClient(hass_instance.process.base_url)
    login(browser, ACCOUNT)
    finish_onboarding(browser)


@pytest.fixture(scope="session")
def hass_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HassInstance]:
    """Home Assistant started, onboarded (owner only), running, its HTTP settings confirmed."""
    # pytest_fixture_setup above is not called through this directory's conftest for session fixtures.
    pytest_socket.enable_socket()
    config_dir = tmp_path_factory.mktemp("hass-e2e")
    port = free_port()
    prepare_config_dir(config_dir, port=port)
    process = HassProcess(config_dir, port)
    process.start()
    try:
        client = HassClient(process.base_url)
        onboard(client, ACCOUNT, complete=False)
        process.wait_running(client)
        promote_pending_http_config(client)
        client.token = create_long_lived_token(client, "e2e")
        yield HassInstance(process, client)
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override tests/conftest.py's: these tests run their own Home Assistant process, no in-process `hass`."""
