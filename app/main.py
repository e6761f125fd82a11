"""Composition root: ``python -m app`` (and the frozen app) run ``run()``.

    python -m app                          the desktop app (a second launch raises the first one's window)
    python -m app --start                  ... and start a meeting at once (in the running app, if any)
    python -m app --headless ARGS...       no window: app.headless (never imports Qt)
    python -m app --self-test [--screenshot PREFIX]   render every lamp state offscreen and check it
    python -m app --backend ARGS...        the reference backend (app.backend): how the bundle runs the
                                           built-in backend as its own child process (app.backend.process)

GUI order: logging (rotating file in the user log dir + stderr) -> single instance (per data folder) ->
QApplication -> error reporter (sys.excepthook + asyncio handler) -> qasync loop -> meeting history
(recovers meetings a crash interrupted) -> stores, controller, window, shell (tray, settings) -> show
the window -> once it is on screen, in the background: the keyring, the audio device lists, the modules
Start needs (``app.ui.startup``) -> run until quit -> ordered shutdown: stop the session (flush +
summary wait, the window kept up and a "Quit now" dialog if the wait lasts) -> save the meeting (the
history's last commit) -> stop the built-in backend -> quit the loop.
Qt is imported only inside the GUI paths. Without a display (Linux) the GUI path exits 2 with a hint
(``app.ui.display``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from app import __version__
from app.logs import APP_NAME, GUI_LOG_NAME, LEVELS, setup_logging

log = logging.getLogger("app")


def run(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--headless":
        from app.headless import main as headless_main  # no Qt on this path

        return headless_main(args[1:])
    if args and args[0] == "--backend":
        from app.backend.__main__ import main as backend_main  # no Qt on this path either

        return backend_main(args[1:])
    options = _parser().parse_args(args)
    os.environ.setdefault("QT_API", "pyside6")  # before qasync is imported: never PyQt
    if options.self_test:
        return _self_test(options.screenshot)
    return _run_gui(options)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="echopanel-companion",
        description="Stream meeting audio to an EchoPanel backend and watch its load. "
        "Run with --headless --help for the command-line mode.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--self-test", action="store_true", help="render every lamp state offscreen and exit")
    parser.add_argument("--screenshot", metavar="PREFIX", help="with --self-test: save PREFIX-<state>.png")
    parser.add_argument("--minimized", action="store_true", help="start in the tray (if there is one)")
    parser.add_argument("--start", action="store_true",
                        help="start a meeting right away (in the running window, if the app is open)")
    parser.add_argument("--log-level", default="INFO", choices=LEVELS)
    return parser


def _self_test(prefix: str | None) -> int:
    from app.ui.display import ensure_display

    ensure_display()
    logging.basicConfig(level=logging.WARNING)
    try:
        from app.ui.self_test import run_self_test

        return run_self_test(prefix)
    except Exception as exc:  # the smoke test needs a reason, not a silent crash
        print(f"self-test: FAIL {type(exc).__name__}: {exc}", file=sys.stderr)
        log.exception("self-test crashed")
        return 1


def quit_on_signals(
    loop: asyncio.AbstractEventLoop, quit_requested: asyncio.Event, abort: Callable[[], None]
) -> Callable[..., None]:
    """The SIGINT/SIGTERM handler: the first signal asks to quit (flush, stop, summary), a second one
    while that runs quits now (``abort``).

    Python runs a signal handler between two bytecodes of whatever the main thread is doing, which can
    be the middle of the loop's own bookkeeping (or of ``Event.set``): so the handler touches nothing of
    the loop's and only hands over with ``call_soon_threadsafe``, which is safe there and wakes it."""

    def on_loop() -> None:
        if quit_requested.is_set():  # a second Ctrl+C while the summary is awaited: quit now
            abort()
        quit_requested.set()

    def on_signal(*_: object) -> None:
        loop.call_soon_threadsafe(on_loop)

    return on_signal


def resources_dir() -> Path:
    """``resources/`` next to the package, or inside the PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) / "resources" if bundle else Path(__file__).resolve().parent.parent / "resources"


def _run_gui(options: argparse.Namespace) -> int:
    from app.ui.display import no_display, no_display_message

    if no_display():  # Qt would abort (SIGABRT) with a misleading message about xcb-cursor0
        print(no_display_message(), file=sys.stderr)
        return 2
    logs = setup_logging(options.log_level, GUI_LOG_NAME)
    log_path = logs.path
    log.info("EchoPanel Companion %s starting (log file: %s)", __version__, log_path)
    from app.datadir import data_dir
    from app.ui.single_instance import SingleInstance

    folder = data_dir()
    instance = SingleInstance(folder)
    try:
        first = instance.acquire()
    except OSError as exc:  # an unusable data folder: run anyway (the history will say what is wrong)
        log.warning("single instance check skipped: %s", exc)
        first = True
    if not first:
        if instance.notify("start" if options.start else "raise"):
            log.info("already running: asked the running app to show its window")
            print(f"{APP_NAME} is already running; its window was brought to the front.", file=sys.stderr)
            return 0
        print(f"{APP_NAME} seems to be running already (the data folder {folder} is in use) but does "
              "not answer. Wait a few seconds and try again, or end the other process.", file=sys.stderr)
        return 1
    import asyncio
    import gc
    import signal

    from app.ui.pyside_sources import stop_caching_sources

    stop_caching_sources()  # first: PySide6's import hook would keep the source of every module (~15 MB)

    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.history import History, HistoryError
    from app.ui import qt_messages
    from app.ui.binding import bind
    from app.ui.builtin import BuiltinBackend
    from app.ui.checks import Checker
    from app.ui.controller import SessionController
    from app.ui.devices import list_devices
    from app.ui.error_hook import ErrorReporter
    from app.ui.secrets import TokenStore
    from app.ui.session_adapter import session_factory
    from app.ui.settings_store import SettingsStore, default_qsettings
    from app.ui.shell import DesktopShell
    from app.ui.shutdown import finish_session
    from app.ui.startup import after_first_frame, when_on_screen
    from app.ui.visibility import VisibilityWatch
    from app.ui.window import MainWindow

    qt_messages.install()
    app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("EchoPanel")
    app.setDesktopFileName("io.echopanel.Companion")  # matches the installed .desktop entry (Wayland)
    app.setQuitOnLastWindowClosed(False)  # the tray keeps running; quitting is explicit
    icon = QIcon()
    for png in sorted((resources_dir() / "app" / "png").glob("*.png")):
        icon.addFile(str(png))
    app.setWindowIcon(icon)

    window = MainWindow()
    reporter = ErrorReporter(log_path, parent=lambda: window)
    reporter.install()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    reporter.install_loop(loop)

    builtin = BuiltinBackend()
    shell: DesktopShell | None = None
    history: History | None = None
    history_problem = ""
    try:
        history = History.open(folder)  # migrations and crash recovery: milliseconds, before any window
    except (HistoryError, OSError) as exc:
        history_problem = f"The meeting history is not available, so meetings are not kept: {exc}"
        log.error("%s", history_problem)

    def current_shell() -> DesktopShell:
        assert shell is not None, "the shell is built before any session can start"
        return shell

    # the token is read off the UI thread at each Start, and hidden from every log line from then on
    factory = session_factory(lambda: current_shell().settings(),
                              lambda: logs.redactor.add(current_shell().token()), builtin,
                              history=lambda: history)
    controller = SessionController(
        factory,
        backend_label=lambda: current_shell().backend_label(),
        selected_sources=lambda: current_shell().selected_sources(),
        parent=window,
    )
    bind(window, controller)
    VisibilityWatch(window, controller.polls.set_window_shown)  # no meter repaints while hidden or minimized
    tokens = TokenStore()  # the keyring is found and read once the window is up, off the UI thread
    shell = DesktopShell(
        window, controller, SettingsStore(default_qsettings()), tokens, list_devices, log_path=log_path,
        history=history, checker=Checker(builtin), history_problem=history_problem,
    )
    shell.meetings.start(shell.settings(), history.recovered if history is not None else [])
    quit_requested = asyncio.Event()
    shell.quit_requested.connect(quit_requested.set)
    app.aboutToQuit.connect(quit_requested.set)  # session logout, SIGTERM via Qt
    on_signal = quit_on_signals(loop, quit_requested, controller.abort)
    # Ctrl+C in a terminal: Python handles signals only when it runs, so wake it twice a second.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)  # logout / kill: flush, stop, summary
    wake = QTimer()
    wake.start(500)
    wake.timeout.connect(lambda: None)
    shell.show_initial(minimized=options.minimized)

    def then() -> None:
        if options.start:
            controller.start()
        else:
            shell.checks.first_run()  # the audio and backend check, the first time the app runs here

    def on_command(command: str) -> None:
        """A later launch: show the window, and start a meeting if it asked to."""
        window.bring_to_front()
        if command == "start" and not controller.is_running():
            controller.start()
    report = bool(os.environ.get("ECHOPANEL_REPORT_FIRST_SHOW"))  # packaging/bundle.sh --measure
    background: set[object] = set()
    background.add(when_on_screen(window, lambda: background.update(
        after_first_frame(shell, tokens, then, report))))
    # Start-up objects (modules, Qt wrappers) live until exit: freeze them so that a full garbage
    # collection mid-session scans only what the session allocates (a 30 ms pause otherwise).
    gc.freeze()

    async def save_history() -> None:
        if history is not None:
            await asyncio.get_running_loop().run_in_executor(None, history.close)
            log.info("meeting history saved and closed")

    async def main_task() -> None:
        try:
            await instance.serve(on_command)
        except OSError as exc:
            log.warning("single instance: cannot listen for later launches: %s", exc)
        log.info("ready")  # the loop runs: the packaging smoke test and tests wait for this line
        await quit_requested.wait()
        log.info("shutting down: stopping the session")
        shell.save_geometry()
        # The window stays up while the summary is awaited; a dialog offers "Quit now" if it lasts.
        if await finish_session(controller, window, save=save_history):
            log.info("quit now: the summary wait was abandoned")
        shell.meetings.close()
        window.hide()
        log.info("stopping the built-in backend")
        await asyncio.get_running_loop().run_in_executor(None, builtin.stop)
        shell.hide_tray()

    with loop:
        loop.run_until_complete(main_task())
    instance.release()
    reporter.uninstall()
    log.info("EchoPanel Companion stopped")
    return 0
