"""The desktop UI: the only package that imports PySide6 (and qasync).

Widgets take plain values (a ``Level``, numbers, strings, core dataclasses) and never import the
session, transport or sounddevice; ``controller.SessionController`` is the one Qt <-> asyncio seam
(``polls.SnapshotPolls``: when it pulls the session's snapshot), ``shell.DesktopShell`` keeps
settings, token, tray and dialog; ``app.main`` composes them.
"""
