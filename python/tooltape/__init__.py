"""tooltape from Python: the binary this package ships, and a pytest plugin.

The wheel installs the ``tooltape`` executable next to the interpreter's scripts
(``bin/`` or ``Scripts\\``); :func:`find_tooltape_bin` finds it. The pytest plugin
(:mod:`tooltape.pytest_plugin`) turns ``@pytest.mark.tooltape(...)`` tests into one
item per scenario file. Everything goes through tooltape's command line.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

__all__ = ["find_tooltape_bin", "BinaryNotFound"]

_EXE = "tooltape" + (sysconfig.get_config_var("EXE") or "")


class BinaryNotFound(FileNotFoundError):
    """No tooltape executable: not installed with this package, and no usable ``TOOLTAPE_BIN``."""


def find_tooltape_bin() -> Path:
    """The tooltape executable to run.

    In order: ``TOOLTAPE_BIN`` (an error if it names no file); the file this distribution
    installed (its RECORD, so ``pip install --target`` and ``--prefix`` work too); the scripts
    directory of this interpreter, then of its user scheme; ``tooltape`` on ``PATH``.
    """
    override = os.environ.get("TOOLTAPE_BIN")
    if override:
        path = Path(override)
        if path.is_file():
            return path
        raise BinaryNotFound(f"TOOLTAPE_BIN={override}: no such file")
    for path in _candidates():
        if path.is_file():
            return path
    raise BinaryNotFound(
        f"no {_EXE} executable: install this package with pip (the wheel ships it), "
        "put it on PATH, or set TOOLTAPE_BIN"
    )


def _candidates():
    yield from _recorded()
    yield Path(sysconfig.get_path("scripts")) / _EXE
    try:
        user = sysconfig.get_preferred_scheme("user")  # Python >= 3.10
    except AttributeError:
        user = "nt_user" if os.name == "nt" else "posix_user"
    try:
        yield Path(sysconfig.get_path("scripts", scheme=user)) / _EXE
    except KeyError:
        pass
    on_path = shutil.which("tooltape")
    if on_path:
        yield Path(on_path)


def _recorded():
    """The executable as installed for this distribution, from its RECORD file."""
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        dist = distribution("tooltape")
    except (ImportError, PackageNotFoundError):
        return
    for f in dist.files or ():
        if f.name == _EXE:
            yield Path(dist.locate_file(f)).resolve()
