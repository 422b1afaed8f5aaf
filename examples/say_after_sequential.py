"""Tutorial: coroutines awaited one after another take the sum of their delays.

Run with ``python examples/say_after_sequential.py [--scale 0.2]``; it takes
about 4 seconds (times the scale).
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

    await say_after(1 * scale, "hello")
    await say_after(2 * scale, "world")
    await say_after(1 * scale, "!!!!!")

    print(f"finished at {time.strftime('%X')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every delay")
    vif.run(main(parser.parse_args().scale))
