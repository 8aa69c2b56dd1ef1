"""A small synchronous client for a running Home Assistant: REST and WebSocket APIs.

Synchronous on purpose: scripts/develop and the end-to-end tests are plain sequential programs, and the tests
must not share an event loop with pytest-homeassistant-custom-component's plugin. REST goes through urllib;
each WebSocket exchange runs aiohttp in its own private event loop (`asyncio.run`), one connection per exchange.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
import json
from typing import Any, cast
import urllib.error
import urllib.parse
import urllib.request

import aiohttp

DEFAULT_TIMEOUT_S = 30.0

type Json = Any


class HassApiError(Exception):
    """A request Home Assistant answered with an error (or did not answer)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        """Keep the HTTP status or WebSocket error code so callers can tell errors apart."""
        super().__init__(message)
        self.status = status
        self.code = code


class HassClient:
    """REST and WebSocket access to one Home Assistant instance with one access token."""

    def __init__(
        self, base_url: str, token: str | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        """`base_url` like http://127.0.0.1:8123; `token` may be set later (after onboarding)."""
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    # -- REST ----------------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        payload: Json = None,
        *,
        form: Mapping[str, str] | None = None,
        auth: bool = True,
        expect: Sequence[int] = (200, 201),
    ) -> Json:
        """Send one request; JSON in (`payload`) or form-encoded (`form`), JSON (or text) out."""
        headers = {"Accept": "application/json"}
        data: bytes | None = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            if not self.token:
                raise HassApiError(f"{method} {path}: no access token yet")
            headers["Authorization"] = f"Bearer {self.token}"
        # The scheme is checked in __init__: http(s) only.
        url = self.base_url + path
        req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read()
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            raise HassApiError(f"{method} {path}: {err}") from err
        if status not in expect:
            text = body.decode(errors="replace")[:500]
            raise HassApiError(f"{method} {path}: HTTP {status}: {text}", status=status)
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return body.decode(errors="replace")

    def state(self, entity_id: str) -> dict[str, Any] | None:
        """The current state object of an entity, None when it does not exist."""
        try:
            return cast(dict[str, Any], self.request("GET", f"/api/states/{entity_id}"))
        except HassApiError as err:
            if err.status == 404:
                return None
            raise

    def states(self) -> list[dict[str, Any]]:
        """Every state object."""
        return cast(list[dict[str, Any]], self.request("GET", "/api/states"))

    def call_service(
        self,
        domain: str,
        service: str,
        data: Mapping[str, Any] | None = None,
        *,
        return_response: bool = False,
    ) -> Json:
        """Call an action over REST; with `return_response`, give back its response data."""
        path = f"/api/services/{domain}/{service}" + ("?return_response" if return_response else "")
        result = self.request("POST", path, dict(data or {}))
        return result["service_response"] if return_response else result

    def config_entries(self, domain: str) -> list[dict[str, Any]]:
        """The config entries of one integration."""
        return cast(
            list[dict[str, Any]],
            self.request(
                "GET", f"/api/config/config_entries/entry?domain={urllib.parse.quote(domain)}"
            ),
        )

    def delete_config_entry(self, entry_id: str) -> None:
        """Remove a config entry."""
        self.request("DELETE", f"/api/config/config_entries/entry/{entry_id}")

    def run_flow(
        self, kind: str, handler: str, answers: Mapping[str, str | Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Walk a config or options flow (`kind` "config" or "options") through the REST flow API.

        `answers` maps step ids to what a user would give: the chosen option of a menu step, or the input of a
        form step. Returns the last result; raises when the flow asks a step `answers` does not cover or a form
        comes back with errors.
        """
        base = f"/api/config/config_entries/{'flow' if kind == 'config' else 'options/flow'}"
        result = self.request("POST", base, {"handler": handler, "show_advanced_options": False})
        for _ in range(len(answers) + 1):
            if result["type"] not in ("form", "menu"):
                return cast(dict[str, Any], result)
            step = result["step_id"]
            if result.get("errors"):
                raise HassApiError(f"{kind} flow {handler}: step {step} failed: {result['errors']}")
            if step not in answers:
                raise HassApiError(f"{kind} flow {handler}: no answer for step {step!r}")
            answer = answers[step]
            body = (
                {"next_step_id": answer}
                if result["type"] == "menu"
                else dict(cast(Mapping[str, Any], answer))
            )
            result = self.request("POST", f"{base}/{result['flow_id']}", body)
        raise HassApiError(f"{kind} flow {handler}: did not finish after {len(answers)} steps")

    def abort_flow(self, kind: str, flow_id: str) -> None:
        """Abandon a flow in progress (as closing the dialog in the UI does)."""
        base = f"/api/config/config_entries/{'flow' if kind == 'config' else 'options/flow'}"
        self.request("DELETE", f"{base}/{flow_id}")

    # -- WebSocket -----------------------------------------------------------------------------------------

    def ws(self, *commands: Mapping[str, Any]) -> list[Json]:
        """Send WebSocket commands in order over one authenticated connection; their results, in order."""
        return asyncio.run(self._ws_exchange(commands))

    def ws_command(self, command_type: str, **fields: Any) -> Json:
        """One WebSocket command; its result."""
        return self.ws({"type": command_type, **fields})[0]

    async def _ws_exchange(self, commands: Sequence[Mapping[str, Any]]) -> list[Json]:
        url = self.base_url.replace("http", "ws", 1) + "/api/websocket"
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        results: list[Json] = []
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.ws_connect(url) as socket,
            ):
                await self._ws_auth(socket)
                for number, command in enumerate(commands, start=1):
                    await socket.send_json({"id": number, **command})
                    results.append(await self._ws_result(socket, number, str(command.get("type"))))
        except (aiohttp.ClientError, TimeoutError) as err:
            raise HassApiError(f"WebSocket {url}: {err!r}") from err
        return results

    def record_events(
        self, event_type: str, during: Callable[[], Awaitable[object]], *, settle_s: float = 1.0
    ) -> list[dict[str, Any]]:
        """The bus events of `event_type` fired while `during` runs (and `settle_s` after), in order."""
        return asyncio.run(self._record_events(event_type, during, settle_s))

    async def _record_events(
        self, event_type: str, during: Callable[[], Awaitable[object]], settle_s: float
    ) -> list[dict[str, Any]]:
        url = self.base_url.replace("http", "ws", 1) + "/api/websocket"
        events: list[dict[str, Any]] = []
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session,
            session.ws_connect(url) as socket,
        ):
            await self._ws_auth(socket)
            await socket.send_json({"id": 1, "type": "subscribe_events", "event_type": event_type})
            await self._ws_result(socket, 1, "subscribe_events")

            async def collect() -> None:
                async for message in socket:
                    data = json.loads(message.data)
                    if data.get("type") == "event" and data.get("id") == 1:
                        events.append(data["event"])

            collector = asyncio.create_task(collect())
            try:
                await during()
                await asyncio.sleep(settle_s)
            finally:
                collector.cancel()
        return events

    async def _ws_auth(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        hello = await socket.receive_json(timeout=self.timeout_s)
        if hello.get("type") != "auth_required":
            raise HassApiError(f"WebSocket: unexpected greeting {hello}")
        await socket.send_json({"type": "auth", "access_token": self.token})
        answer = await socket.receive_json(timeout=self.timeout_s)
        if answer.get("type") != "auth_ok":
            raise HassApiError(
                f"WebSocket: authentication failed: {answer.get('message')}", status=401
            )

    async def _ws_result(
        self, socket: aiohttp.ClientWebSocketResponse, number: int, command: str
    ) -> Json:
        while True:
            message = await socket.receive_json(timeout=self.timeout_s)
            if message.get("id") != number or message.get("type") != "result":
                continue  # an event of an earlier subscription
            if not message["success"]:
                error = message.get("error", {})
                raise HassApiError(
                    f"WebSocket {command}: {error.get('message')}", code=error.get("code")
                )
            return message.get("result")

    # -- Recorder and energy -------------------------------------------------------------------------------

    def statistics(
        self,
        statistic_ids: Sequence[str],
        start: datetime,
        *,
        period: str = "5minute",
        types: Sequence[str] = ("state", "sum"),
    ) -> dict[str, list[dict[str, Any]]]:
        """Compiled statistics rows per statistic id since `start` (WS recorder/statistics_during_period)."""
        return cast(
            dict[str, list[dict[str, Any]]],
            self.ws_command(
                "recorder/statistics_during_period",
                start_time=start.isoformat(),
                statistic_ids=list(statistic_ids),
                period=period,
                types=list(types),
            ),
        )
