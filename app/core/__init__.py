"""Pure logic: stdlib and numpy only. No Qt, no sockets, no audio devices.

Guarded by tests/test_boundaries.py.
"""
