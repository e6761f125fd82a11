"""The checks the app can run, bound to the current settings: the first-run check's three rows and
Settings' "Test connection". The built-in backend is started for its check (off the UI thread), as
Start would start it. No Qt here.

The checks themselves (``app.session.preflight``: capture, transport, numpy) are imported when a
check runs, not when the window is built: the app's start-up does not wait for them.
"""

from __future__ import annotations

import asyncio

from app.backend.process import BackendStartError
from app.core.check_result import CheckResult, CheckState
from app.core.devices import DeviceKey
from app.core.endpoint import parse_endpoint
from app.core.settings import DeviceRef, Settings, SourceSelection
from app.errors import EchoPanelError
from app.ui.builtin import BuiltinBackend
from app.ui.check_dialog import Check


def _key(ref: DeviceRef | None) -> DeviceKey | None:
    return DeviceKey(ref.name, ref.host_api) if ref is not None else None


class Checker:
    def __init__(self, builtin: BuiltinBackend) -> None:
        self._builtin = builtin

    def checks(self, settings: Settings, token: str) -> list[Check]:
        """Microphone, system audio and backend; a source the settings do not capture is skipped."""
        mic, system = settings.mic_device, settings.system_device
        wanted = settings.sources

        async def microphone() -> CheckResult:
            if wanted is SourceSelection.SYSTEM:
                return CheckResult(CheckState.OK, "Not used: Settings capture system audio only.")
            from app.session.preflight import check_microphone

            return await check_microphone(_key(mic))

        async def system_audio() -> CheckResult:
            if wanted is SourceSelection.MIC:
                return CheckResult(CheckState.OK, "Not used: Settings capture the microphone only.")
            from app.session.preflight import check_system_audio

            return await check_system_audio(_key(system))

        url = settings.backend_url
        return [("Microphone", microphone), ("System audio", system_audio),
                ("Backend", lambda: self.test_backend(url, token))]

    async def test_backend(self, url: str, token: str) -> CheckResult:
        """Check the backend at ``url`` ("" = the built-in one, started if needed)."""
        builtin = not url
        try:
            if not url:
                loop = asyncio.get_running_loop()
                url, token = await loop.run_in_executor(None, self._builtin.ensure_started)
            endpoint = parse_endpoint(url)
        except BackendStartError as exc:  # its message says what the child process said
            return CheckResult(CheckState.FAILED, str(exc),
                               "See the log; or use another backend in Settings.")
        except EchoPanelError as exc:
            return CheckResult(CheckState.FAILED, str(exc), "Correct the backend address in Settings.")
        except Exception as exc:  # the built-in backend could not start
            return CheckResult(CheckState.FAILED, f"The built-in backend could not start: {exc}.",
                               "See the log; or use another backend in Settings.")
        from app.session.preflight import check_backend

        result = await check_backend(endpoint, token)
        if builtin and result.state is CheckState.WARNING and "not ready" in result.summary:
            return CheckResult(CheckState.OK, "The built-in backend is running; its speech model is still "
                               "loading (Start waits for it).")
        return result

