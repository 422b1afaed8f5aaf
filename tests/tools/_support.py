"""Helpers for the tools tests: running ``python -m vif``, headless Chromium, PNG pixels."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def env(**extra: str) -> dict[str, str]:
    """The environment for a child Python that imports this checkout of vif."""
    result = dict(os.environ)
    result["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), result.get("PYTHONPATH")]))
    result.pop("PYTHONSTARTUP", None)
    result.update(extra)
    return result


def run_vif(*args: str, input: str | None = None, timeout: float = 60, cwd=None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m vif ARGS`` in a child process; text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "vif", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        env=env(**(extra_env or {})),
    )


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--force-device-scale-factor=1",
]


def browse(page: Path, profile: Path, *, screenshot: Path | None = None,
           size: tuple[int, int] = (1200, 500), timeout: float = 120,
           fragment: str = "") -> tuple[str, str]:
    """Open ``page`` in headless Chromium; return (the DOM after scripts ran, stderr).

    With ``screenshot``, also write a PNG of the window (a second launch).
    """
    exe = chromium()
    assert exe is not None
    base = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000"]
    url = page.resolve().as_uri() + fragment
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                         timeout=timeout)
    assert dom.returncode == 0, dom.stderr[-3000:]
    if screenshot is not None:
        shot = subprocess.run([*base, f"--screenshot={screenshot}", url], capture_output=True,
                              text=True, timeout=timeout)
        assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-3000:]
    return dom.stdout, dom.stderr


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG: (width, height, RGB rows)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    height = depth = ctype = interlace = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    i = 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        prev = line
        rows.append(bytes(line) if bpp == 3 else bytes(
            v for j in range(0, stride, 4) for v in line[j:j + 3]))
    return width, height, rows


def color_runs(rows: list[bytes], rgb: tuple[int, int, int], min_width: int = 20):
    """Horizontal bands of ``rgb``: a list of (first row, last row, min x, max x)."""
    target = bytes(rgb)
    bands: list[list[int]] = []
    for y, row in enumerate(rows):
        xs = [x for x in range(0, len(row) // 3) if row[3 * x:3 * x + 3] == target]
        if len(xs) < min_width:
            continue
        if bands and bands[-1][1] == y - 1:
            band = bands[-1]
            band[1], band[2], band[3] = y, min(band[2], xs[0]), max(band[3], xs[-1])
        else:
            bands.append([y, y, xs[0], xs[-1]])
    return [tuple(b) for b in bands]
