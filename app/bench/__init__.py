"""Benchmarks: ``python -m app.bench NAME [ARGS]`` prints JSON figures. One module per benchmark,
each exposing ``main(argv: list[str]) -> int``. Targets live here, not in timed unit tests.
"""
