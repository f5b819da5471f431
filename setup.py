"""A shim for pips that predate PEP 517: pip 18.1 (CPython 3.6.15's) and EL7's pip 9 run
`setup.py egg_info`/`install` and fail without this file.  Everything lives in setup.cfg
(setuptools 30.3+ reads it; EL7's python3-setuptools is 39.2); newer pips build through
pyproject.toml's backend, which runs this same file.  It must never hold metadata."""

from setuptools import setup

setup()
