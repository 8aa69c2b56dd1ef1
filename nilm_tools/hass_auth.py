"""Getting into a fresh or known Home Assistant: onboarding, login, tokens, and the HTTP trial config.

Everything goes through Home Assistant's public APIs, the ones the frontend uses: the onboarding views, the
login flow (`/auth/login_flow`), the token endpoint, and WebSocket commands for long-lived tokens, users and the
HTTP configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from .hass_api import HassApiError, HassClient

# Onboarding steps after the first user. `core_config` also starts Home Assistant's default integrations
# (met, radio_browser, ...), which a test instance does not need but the frontend insists on for a person.
LATER_ONBOARDING_STEPS = ("core_config", "analytics", "integration")


@dataclass(frozen=True, slots=True)
class Account:
    """A Home Assistant login (the homeassistant auth provider)."""

    name: str
    username: str
    password: str


def client_id(client: HassClient) -> str:
    """The OAuth client id a browser on `base_url` would use (IndieAuth: the site's own URL)."""
    return f"{client.base_url}/"


def onboarding_status(client: HassClient) -> dict[str, bool]:
    """Onboarding steps and whether each is done; empty once onboarding is complete (the API is gone)."""
    try:
        steps = client.request("GET", "/api/onboarding", auth=False)
    except HassApiError as err:
        if err.status == 404:
            return {}
        raise
    return {step["step"]: step["done"] for step in steps}


def onboard(client: HassClient, owner: Account, *, complete: bool) -> None:
    """Create the owner through the onboarding API and sign `client` in as them.

    With `complete`, also finish the later steps so the frontend opens straight into the dashboard.
    """
    answer = client.request(
        "POST",
        "/api/onboarding/users",
        {
            "client_id": client_id(client),
            "name": owner.name,
            "username": owner.username,
            "password": owner.password,
            "language": "en",
        },
        auth=False,
    )
    client.token = _exchange_code(client, answer["auth_code"])
    if complete:
        finish_onboarding(client)


def finish_onboarding(client: HassClient) -> None:
    """Complete the onboarding steps after the user step that are not done yet."""
    status = onboarding_status(client)
    for step in LATER_ONBOARDING_STEPS:
        if status.get(step, True):
            continue
        payload = None
        if step == "integration":
            payload = {
                "client_id": client_id(client),
                "redirect_uri": f"{client_id(client)}?auth_callback=1",
            }
        client.request("POST", f"/api/onboarding/{step}", payload)


def login(client: HassClient, account: Account) -> None:
    """Sign `client` in with a username and password through the login flow, as the login page does."""
    flow = client.request(
        "POST",
        "/auth/login_flow",
        {
            "client_id": client_id(client),
            "handler": ["homeassistant", None],
            "redirect_uri": f"{client_id(client)}?auth_callback=1",
        },
        auth=False,
    )
    result = client.request(
        "POST",
        f"/auth/login_flow/{flow['flow_id']}",
        {
            "client_id": client_id(client),
            "username": account.username,
            "password": account.password,
        },
        auth=False,
    )
    if result.get("type") != "create_entry":
        raise HassApiError(
            f"login as {account.username!r} failed: {result.get('errors')}", status=401
        )
    client.token = _exchange_code(client, result["result"])


def _exchange_code(client: HassClient, code: str) -> str:
    tokens = client.request(
        "POST",
        "/auth/token",
        form={"grant_type": "authorization_code", "code": code, "client_id": client_id(client)},
        auth=False,
    )
    return cast(str, tokens["access_token"])


def create_long_lived_token(client: HassClient, name: str, days: int = 3650) -> str:
    """A long-lived access token for the signed-in user (Profile -> Security in the UI)."""
    return cast(
        str, client.ws_command("auth/long_lived_access_token", client_name=name, lifespan=days)
    )


def token_works(client: HassClient) -> bool:
    """Whether the client's token is accepted."""
    try:
        client.request("GET", "/api/")
    except HassApiError as err:
        if err.status == 401:
            return False
        raise
    return True


def make_owner_local_only(client: HassClient) -> None:
    """Let the owner sign in from the local network only (a development login has a published password)."""
    users: list[dict[str, Any]] = client.ws_command("config/auth/list")
    for user in users:
        if user["is_owner"] and not user["local_only"]:
            client.ws_command("config/auth/update", user_id=user["id"], local_only=True)


def promote_pending_http_config(client: HassClient) -> bool:
    """Confirm a pending HTTP config (from configuration.yaml's `http:`) the server is running on.

    Home Assistant 2026.10 migrates `http:` from YAML into a pending trial config and, unless an admin confirms
    it within five minutes, reverts to the stored stable config (default port 8123) and restarts.
    Returns whether a config was promoted.
    """
    config = client.ws_command("http/config")
    pending = config.get("pending")
    if config.get("active_config_type") != "pending" or not pending or pending.get("error"):
        return False
    client.ws_command("http/config/promote")
    return True
