"""The network edge to an EchoPanel backend: the WebSocket connection (``connection``: handshake,
receiver task, sends with backpressure, why a connection ended as an ``app.errors`` exception;
``opening``: the upgrade and what its failures mean; ``close_reasons``: those classifications) and
the ``GET /health`` check (``health``).

May import: ``app.core`` and ``app.errors`` only; the websockets library through its public API.
"""
