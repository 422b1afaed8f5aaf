"""Async versions of ``os.path`` queries (aiofiles.ospath's names): one hop each."""

from __future__ import annotations

import os.path as _path

from . import wrap

__all__ = [
    "abspath",
    "exists",
    "getatime",
    "getctime",
    "getmtime",
    "getsize",
    "isdir",
    "isfile",
    "islink",
    "ismount",
    "samefile",
    "sameopenfile",
    "wrap",
]

exists = wrap(_path.exists)
isfile = wrap(_path.isfile)
isdir = wrap(_path.isdir)
islink = wrap(_path.islink)
ismount = wrap(_path.ismount)
getsize = wrap(_path.getsize)
getmtime = wrap(_path.getmtime)
getatime = wrap(_path.getatime)
getctime = wrap(_path.getctime)
samefile = wrap(_path.samefile)
sameopenfile = wrap(_path.sameopenfile)
abspath = wrap(_path.abspath)
