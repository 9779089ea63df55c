"""Code that runs only in stock tufup's environment (``.bench/stock-env``, see bench/stock_env.py).

Each module is a command, ``python -m bench.stock.NAME ARGS``, started by the benchmark with
that environment's interpreter; it prints its result as one JSON line. These modules import
the standard library, tufup and its tuf 4.0 only: never ``client`` or ``repo_tools``, which
need the project's tuf 7.
"""
