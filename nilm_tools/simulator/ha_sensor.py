"""Update an existing Home Assistant sensor through the REST API (the integration's sensor source)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import aiohttp

from .sample import MeterSample


class SensorAuthError(RuntimeError):
    """Home Assistant refused the long-lived access token."""


class SensorClient:
    """POST /api/states/<entity> with each sample's power, as a power sensor would report it."""

    def __init__(self, ha_url: str, token: str, entity_id: str, *, timeout_s: float = 5.0) -> None:
        """`entity_id` like sensor.house_power; the state is created or replaced."""
        if not entity_id.startswith("sensor.") or " " in entity_id:
            raise ValueError(
                f"entity must be a sensor entity id like sensor.house_power, got {entity_id!r}"
            )
        self.url = f"{ha_url.rstrip('/')}/api/states/{entity_id}"
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.updates = 0
        self.failures = 0

    async def __aenter__(self) -> Self:
        """Open the HTTP session."""
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def publish(self, sample: MeterSample) -> bool:
        """Set the sensor's state to the sample's power; False (and counted) when Home Assistant is unreachable.

        Raises:
            SensorAuthError: the token was refused (401).
        """
        assert self._session is not None, "use SensorClient as an async context manager"
        state = {
            "state": f"{sample.p:.1f}",
            "attributes": {
                "unit_of_measurement": "W",
                "device_class": "power",
                "state_class": "measurement",
                "friendly_name": "Simulated mains power",
            },
        }
        try:
            async with self._session.post(self.url, json=state) as response:
                if response.status == 401:
                    raise SensorAuthError(f"{self.url} refused the token (401)")
                ok = response.status in (200, 201)
        except aiohttp.ClientError, TimeoutError:
            ok = False
        if ok:
            self.updates += 1
        else:
            self.failures += 1
        return ok
