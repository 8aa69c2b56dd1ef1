"""A headless Chromium driven over the DevTools protocol, for the end-to-end test of the labeling card.

Enough to open Home Assistant's frontend as a signed-in user and read what a dashboard card shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
import json
import os
from pathlib import Path
import re
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any

import aiohttp

# How every test runs Chromium: without a display, a sandbox (containers run as root) or /dev/shm space.
HEADLESS_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")
# Where Chromium says it listens, on stderr, once it is up.
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def chromium_binary() -> str | None:
    """A Chromium or Chrome binary: NILM_CHROMIUM, else the usual names on PATH."""
    names = (os.environ.get("NILM_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome")
    return next(filter(None, (shutil.which(name) for name in names if name)), None)


class Page:
    """One browser tab: navigate, evaluate JavaScript, sign in to Home Assistant; console messages kept."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """A tab behind this DevTools WebSocket."""
        self._ws = ws
        self._next_id = 0
        self.console: list[str] = []

    async def command(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are skipped)."""
        self._next_id += 1
        message_id = self._next_id
        await self._ws.send_json({"id": message_id, "method": method, "params": params})
        while True:
            reply = await self._ws.receive_json()
            if reply.get("method") in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown"):
                self.console.append(json.dumps(reply["params"])[:600])
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply["result"])

    async def navigate(self, url: str) -> None:
        """Open a URL (returns once the navigation started; poll for what the page should show)."""
        await self.command("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        """The JSON-able value of a JavaScript expression (promises awaited)."""
        result = await self.command(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float = 30.0) -> Any:
        """Evaluate until the expression gives a truthy value; that value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = await self.evaluate(expression)
            if value or time.monotonic() > deadline:
                return value
            await asyncio.sleep(0.5)

    async def sign_in(self, base_url: str, token: str) -> None:
        """Make the frontend at base_url use this access token, as after a login."""
        await self.navigate(f"{base_url}/auth/authorize")
        await self.wait_for("document.readyState === 'complete'")
        tokens = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 1800,
            "hassUrl": base_url,
            "clientId": f"{base_url}/",
            "expires": int(time.time() * 1000) + 3_600_000,
            "refresh_token": "",
        }
        await self.evaluate(f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))})")


@asynccontextmanager
async def open_page(binary: str, *, width: int = 1200, height: int = 900) -> AsyncIterator[Page]:
    """A fresh headless Chromium (own profile, closed afterwards) and its first tab."""
    # Chromium's helper processes may still be writing to the profile as it goes: the profile is removed
    # once they are gone, and what they leave after that is not an error of the page.
    with tempfile.TemporaryDirectory(
        prefix="nilm-chromium-", ignore_cleanup_errors=True
    ) as scratch:
        log = Path(scratch) / "stderr.txt"
        # Chromium's stderr goes to a file: a pipe nobody drains would block it once full.
        with log.open("w") as stderr:
            process = await asyncio.create_subprocess_exec(
                binary,
                *HEADLESS_FLAGS,
                "--remote-debugging-port=0",
                f"--user-data-dir={Path(scratch) / 'profile'}",
                f"--window-size={width},{height}",
                "about:blank",
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                # Its own process group, so the helpers it starts end with it.
                start_new_session=True,
            )
        try:
            endpoint = await _devtools_endpoint(process, log)
            async with aiohttp.ClientSession() as session:
                targets = await (await session.get(f"http://{endpoint}/json")).json()
                tab = next(t for t in targets if t["type"] == "page")
                async with session.ws_connect(tab["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    page = Page(ws)
                    await page.command("Page.enable")
                    await page.command("Runtime.enable")
                    yield page
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


async def _devtools_endpoint(
    process: asyncio.subprocess.Process, log: Path, timeout_s: float = 30.0
) -> str:
    """host:port of the DevTools server, as Chromium writes it to its stderr."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline and process.returncode is None:
        text = await asyncio.to_thread(log.read_text, errors="replace")
        found = _LISTENING.search(text)
        if found:
            return found.group(1).split("/")[2]
        await asyncio.sleep(0.2)
    raise RuntimeError(f"Chromium did not start its DevTools server: {text[-500:]}")
