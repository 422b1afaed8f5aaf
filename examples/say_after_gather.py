"""Tutorial: asyncio.gather runs coroutines concurrently and collects their results.

Run with ``python examples/say_after_gather.py [--scale 0.2]``; it takes about
2 seconds (times the scale).
"""

import argparse
import asyncio
import time

import vif


async def say_after(delay, what):
    await asyncio.sleep(delay)
    print(what)


async def main(scale):
    print(f"started at {time.strftime('%X')}")

    await asyncio.gather(
        say_after(1 * scale, "hello"),
        say_after(2 * scale, "world"),
        say_after(1 * scale, "!!!!!"),
    )

    print(f"finished at {time.strftime('%X')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every delay")
    vif.run(main(parser.parse_args().scale))
