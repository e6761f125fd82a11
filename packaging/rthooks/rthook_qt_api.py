# PyInstaller runtime hook: make qasync use PySide6. qasync picks the first Qt binding it can import
# unless QT_API names one; the bundle carries only PySide6, but say so explicitly so a stray
# PyQt on the user's machine can never be chosen. Runs before the app's first import.
import os

os.environ["QT_API"] = "pyside6"
