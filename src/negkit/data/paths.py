"""Where data sets live: ``$NEGKIT_DATA``, else a per-user cache folder."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "data_home"]

#: The one setting of the data layer.
DATA_ENV = "NEGKIT_DATA"


def data_home(create: bool = True) -> Path:
    """The data folder: ``$NEGKIT_DATA`` when set, else ``<user cache dir>/negkit/data``.

    Created on demand (``create=True``); a read-only shared folder is used as it is.
    """
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        home = Path(env).expanduser()
    else:
        from platformdirs import user_cache_dir

        home = Path(user_cache_dir("negkit")) / "data"
    if create and not home.is_dir():
        home.mkdir(parents=True, exist_ok=True)
    return home
