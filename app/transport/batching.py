"""``BatchingConnection``: websockets' client connection, able to send a tick's audio frames as one
socket write.

Each frame stays its own WebSocket message (the contract: one binary v1 frame per message); what is
shared is the cost around them. ``ClientConnection.send`` enters its send context (state checks,
write, drain) once per message, and ``send_data`` writes each message's bytes with its own
``transport.write``: one system call each, 100 a second for two sources. ``send_many`` enters the
context once for all of them, and ``send_data`` joins what is queued into one write. Flow control
is unchanged: the context still awaits the drain (the transport's high-water mark) once the batch
is written, so a slow server still slows the sender down.

Built on websockets' public extension points: ``connect(create_connection=...)`` takes a subclass,
and the sans-I/O ``protocol`` it exposes does the framing. ``send_context`` is the method
``send`` itself uses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from websockets.asyncio.client import ClientConnection


class BatchingConnection(ClientConnection):
    async def send_many(self, payloads: Sequence[str | bytes]) -> None:
        """Send each payload as one message (str: text, bytes: binary), with one write and one drain.
        Raises ``ConnectionClosed`` as ``send`` does; then it is unknown which of them left."""
        while self.send_in_progress is not None:  # a fragmented message (never ours): as send() waits
            await asyncio.shield(self.send_in_progress)
        async with self.send_context():
            protocol = self.protocol
            for payload in payloads:
                if isinstance(payload, str):
                    protocol.send_text(payload.encode())
                else:
                    protocol.send_binary(payload)

    def send_data(self) -> None:
        """As ``ClientConnection.send_data``, but what is queued goes out in one ``transport.write``."""
        chunks = self.protocol.data_to_send()
        if len(chunks) > 1 and all(chunks):  # no end-of-stream marker (b""): plain data only
            self.transport.write(b"".join(chunks))
            return
        for data in chunks:
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():  # half-close, as websockets does
                with contextlib.suppress(Exception):  # as websockets: write_eof documents no exceptions
                    self.transport.write_eof()
            else:
                self.transport.close()
