"""Export the tray icon of every status light as a PNG, for packaging and documentation:

    python -m app.ui.tray_icons [FOLDER]      (default: resources/tray in the source tree)

writes ``FOLDER/{idle,unknown,live,behind,losing,failed}.png`` at ``EXPORT_SIZE`` px, drawn by
``level_style.level_pixmap``, the same code that draws the live tray icon. The app never loads
these files (it draws in code, at every size the tray asks for); a test checks they are up to date.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.core.status_report import Light

EXPORT_SIZE = 64
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "resources" / "tray"


def icon_path(folder: Path, light: Light) -> Path:
    return folder / f"{light.value}.png"


def export_tray_icons(folder: Path, size: int = EXPORT_SIZE) -> list[Path]:
    """Write one PNG per light into ``folder`` (created if needed); needs a ``QGuiApplication``."""
    from app.ui.level_style import level_pixmap

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for light in Light:
        path = icon_path(folder, light)
        if not level_pixmap(light, size).save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(args[0]) if args else DEFAULT_FOLDER
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # icons only: no window, no display needed
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    try:
        for path in export_tray_icons(folder):
            print(path)
    except OSError as exc:
        print(f"tray icons: {exc}", file=sys.stderr)
        return 1
    finally:
        del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
