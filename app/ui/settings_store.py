"""QSettings at the edge (STYLE 10): the typed ``Settings`` go through ``settings_to_dict`` /
``settings_from_dict`` and nothing else touches QSettings. Window geometry lives under the
``window/`` prefix, which the settings schema leaves to the UI. Never a token: that is
``app.ui.secrets``' job.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QSettings

from app.core.settings import (
    UI_STATE_PREFIX,
    Settings,
    needs_rewrite,
    settings_from_dict,
    settings_to_dict,
    stale_keys,
)

log = logging.getLogger(__name__)

ORGANIZATION = "EchoPanel"
APPLICATION = "EchoPanel Companion"
GEOMETRY_KEY = f"{UI_STATE_PREFIX}geometry"
STATE_KEY = f"{UI_STATE_PREFIX}state"


def default_qsettings() -> QSettings:
    """The per-user native store (registry, plist or ~/.config ini), without fallbacks: otherwise
    ``allKeys()`` also lists organisation-wide and system-wide keys (on macOS every global default),
    which would read as unknown settings and be deleted from the wrong place."""
    qsettings = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
    qsettings.setFallbacksEnabled(False)
    return qsettings


class SettingsStore:
    def __init__(self, qsettings: QSettings) -> None:
        self._qs = qsettings

    def load(self) -> tuple[Settings, list[str]]:
        """The stored settings and the problems found reading them (bad values fall back to defaults).

        Settings that were migrated or held stale keys are saved back at once, so what the migration
        removed (an old token) leaves the file and each problem is reported once, not at every start.
        """
        data = self._stored()
        settings, problems = settings_from_dict(data)
        for problem in problems:
            log.warning("settings: %s", problem)
        if needs_rewrite(data):
            log.info("settings: rewriting %s in the current format", self.file_name())
            self.save(settings)
        return settings, problems

    def save(self, settings: Settings) -> None:
        """Write every setting and delete the stored keys this version does not know (``stale_keys``);
        ``window/`` keys (geometry) are kept."""
        for key in stale_keys(self._stored()):
            self._qs.remove(key)
        for key, value in settings_to_dict(settings).items():
            self._qs.setValue(key, value)
        self._qs.sync()

    def _stored(self) -> dict[str, object]:
        return {key: self._qs.value(key) for key in self._qs.allKeys()}

    def load_geometry(self) -> QByteArray | None:
        value = self._qs.value(GEOMETRY_KEY)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_geometry(self, geometry: QByteArray) -> None:
        self._qs.setValue(GEOMETRY_KEY, geometry)
        self._qs.sync()

    def file_name(self) -> str:
        return self._qs.fileName()

    # ------------------------------------------------------------------ UI state (window/ keys)

    def ui_value(self, name: str) -> str:
        """A remembered UI fact under ``window/`` (last export folder, notices shown), "" if none."""
        value = self._qs.value(f"{UI_STATE_PREFIX}{name}")
        return value if isinstance(value, str) else ""

    def set_ui_value(self, name: str, value: str) -> None:
        self._qs.setValue(f"{UI_STATE_PREFIX}{name}", value)
        self._qs.sync()
