"""Tutorial: async files - several files are read and written concurrently with vif.open.

Run with ``python examples/files_example.py [--scale 0.2]``; ``--scale``
multiplies the size of the files. Each copy awaits its reads and writes, so
the three copies interleave instead of running one after another.
"""

import argparse
import asyncio
import os
import tempfile
import time

import vif


async def copy_upper(src, dst):
    # Each await lets the other copies run while this one waits for the disk.
    async with vif.open(src) as f:
        text = await f.read()
    async with vif.open(dst, "w") as f:
        await f.write(text.upper())
    return len(text)


async def main(scale):
    print(f"started at {time.strftime('%X')}")

    with tempfile.TemporaryDirectory() as tmp:
        names = ["hello", "world", "!!!!!"]
        lines = max(1, int(20_000 * scale))
        await asyncio.gather(*(
            vif.write_text(os.path.join(tmp, f"{name}.txt"), f"{name}\n" * lines)
            for name in names
        ))
        sizes = await asyncio.gather(*(
            copy_upper(os.path.join(tmp, f"{name}.txt"), os.path.join(tmp, f"{name}.upper"))
            for name in names
        ))
        for name in names:
            first = (await vif.read_text(os.path.join(tmp, f"{name}.upper"))).splitlines()[0]
            print(f"{name}.txt -> {first} ({sizes[names.index(name)]} characters)")

    print(f"finished at {time.strftime('%X')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the file sizes")
    vif.run(main(parser.parse_args().scale))
