"""Pure logic: stdlib, numpy and soxr (pure computation) only; from the app, only app.core and app.errors.

No Qt, no sockets, no audio devices. Guarded by tests/test_boundaries.py.
"""
