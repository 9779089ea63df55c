"""Benchmarks: ours against stock tufup, side by side in one run, on real release data.

``make bench`` (``python -m bench``) runs every module in :data:`bench.__main__.MODULES`;
``python -m bench codec apply`` runs some; ``--quick`` uses only the smaller numpy pair.
Inputs are fetched with pip at run time into ``.bench/`` (git-ignored); networking is to
loopback only otherwise. Stock tufup (which pins tuf 4.0, the project is on tuf 7) runs in an
environment of its own, ``.bench/stock-env`` (bench/stock_env.py), as child processes
(bench/stock/); ours runs in the project's environment. Figures are printed, never asserted:
tests do not depend on speed.
"""
