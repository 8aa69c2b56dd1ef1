"""HTTP push endpoint of a meter-source entry, registered through Home Assistant's webhook component.

Home Assistant answers 200 for unknown webhook ids and for handler exceptions, so the meter only trusts the JSON
acknowledgement written here. Order of the checks: the key (401, before anything is read), the rate limit (429),
the body size (413), the payload (400/413); then retried batches are recognised and the new readings delivered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import hmac
from http import HTTPStatus
import math
import time
from typing import Final

from aiohttp.hdrs import METH_POST
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import Request, Response, json_response
from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from .const import CONF_ALLOW_EXTERNAL, DOMAIN, LOGGER
from .ingest import MeterIngest, RateLimit, TokenBucket
from .meter import MeterInfo, MeterReading, PayloadError
from .payload import MAX_BODY_BYTES, PayloadTooLargeError, parse_batch

type ReadingsCallback = Callable[[MeterInfo, list[MeterReading]], None]

KEY_HEADER: Final = "X-NILM-Key"


def _error(
    status: HTTPStatus, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The contract's error body: {"ok": false, "error": code, "message": text}."""
    return json_response(
        {"ok": False, "error": code, "message": message}, status=status, headers=headers
    )


async def _read_body(request: Request) -> bytes:
    """Read at most MAX_BODY_BYTES; a larger body is refused without buffering it."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLargeError("body_too_large", f"body: at most {MAX_BODY_BYTES} bytes")
    body = bytearray()
    # Chunked uploads carry no length: read until the limit is crossed.
    while chunk := await request.content.read(MAX_BODY_BYTES + 1 - len(body)):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLargeError("body_too_large", f"body: at most {MAX_BODY_BYTES} bytes")
    return bytes(body)


class MeterEndpoint:
    """Request handler of one entry's webhook; holds that meter's rate limit and delivery memory."""

    def __init__(
        self, entry: ConfigEntry, on_readings: ReadingsCallback, rate_limit: RateLimit
    ) -> None:
        """Bind the handler to its entry (whose key is read per request, so a rotation applies at once)."""
        self._entry = entry
        self._on_readings = on_readings
        self._bucket = TokenBucket(rate_limit, time.monotonic())
        self._ingest = MeterIngest()

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get(KEY_HEADER, "").encode("utf-8", "surrogateescape")
        expected = str(self._entry.data[CONF_API_KEY]).encode()
        # An entry without a key must not accept requests without one.
        return bool(expected) and hmac.compare_digest(given, expected)

    async def handle(self, hass: HomeAssistant, webhook_id: str, request: Request) -> Response:
        """Answer one push; never raise, because the webhook component would log it and answer 200."""
        try:
            return await self._handle(request)
        except Exception:  # noqa: BLE001 - the webhook component would log it with the id and answer 200
            # Only a bug in a reading consumer gets here; hostile input is answered above.
            LOGGER.exception("Meter push to %s failed", self._entry.title)
            return _error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "see the Home Assistant log"
            )

    async def _handle(self, request: Request) -> Response:
        if not self._authorized(request):
            LOGGER.debug("Meter push to %s refused: missing or wrong key", self._entry.title)
            return _error(
                HTTPStatus.UNAUTHORIZED, "unauthorized", f"missing or wrong {KEY_HEADER} header"
            )
        if (wait := self._bucket.take(time.monotonic())) > 0.0:
            retry_after = str(max(1, math.ceil(wait)))
            return _error(
                HTTPStatus.TOO_MANY_REQUESTS,
                "rate_limited",
                f"too many requests, retry after {retry_after} s",
                {"Retry-After": retry_after},
            )
        try:
            batch = parse_batch(await _read_body(request), time.time())
        except PayloadTooLargeError as err:
            return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, err.code, str(err))
        except PayloadError as err:
            LOGGER.debug("Meter push to %s refused: %s", self._entry.title, err)
            return _error(HTTPStatus.BAD_REQUEST, err.code, str(err))
        except (ConnectionError, HttpProcessingError) as err:
            # The client broke the upload (reset, truncated chunked body); nobody reads this answer.
            return _error(HTTPStatus.BAD_REQUEST, "unreadable_body", str(err))

        result = self._ingest.ingest(batch)
        # Called even with no new reading: an acknowledged push (a retry, all dropped) shows the meter alive.
        self._on_readings(batch.info, result.readings)
        return json_response(
            {
                "ok": True,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "dropped": result.dropped,
                "seq": batch.seq,
            }
        )


@callback
def async_register_meter_webhook(
    hass: HomeAssistant,
    entry: ConfigEntry,
    on_readings: ReadingsCallback,
    *,
    rate_limit: RateLimit | None = None,
) -> CALLBACK_TYPE:
    """Register the entry's webhook (local network only unless allowed) and return its unregister callback.

    `on_readings` is called in the event loop with the new, time-ordered readings of every acknowledged batch
    (an empty list for a retried batch or one whose samples were all dropped).
    `rate_limit` overrides the per-meter default (benchmarks, tests).
    """
    webhook_id: str = entry.data[CONF_WEBHOOK_ID]
    endpoint = MeterEndpoint(entry, on_readings, rate_limit or RateLimit())
    webhook.async_register(
        hass,
        DOMAIN,
        entry.title,
        webhook_id,
        endpoint.handle,
        local_only=not entry.options.get(CONF_ALLOW_EXTERNAL, False),
        allowed_methods=[METH_POST],
    )

    @callback
    def unregister() -> None:
        webhook.async_unregister(hass, webhook_id)

    return unregister
