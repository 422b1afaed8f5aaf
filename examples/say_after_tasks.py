"""Tutorial: coroutines wrapped in tasks run concurrently.

Run with ``python examples/say_after_tasks.py [--scale 0.2]``; it takes about
2 seconds (times the scale): the longest delay, not the sum.
"""

import argparse
import asyncio
import time

import vif


async def say_after(delay, what):
    await asyncio.sleep(delay)
    print(what)


async def main(scale):
    task1 = asyncio.create_task(say_after(1 * scale, "hello"))
    task2 = asyncio.create_task(say_after(2 * scale, "world"))
    task3 = asyncio.create_task(say_after(1 * scale, "!!!!!"))

    print(f"started at {time.strftime('%X')}")

    # The tasks are already running; wait until all of them are done.
    await task1
    await task2
    await task3

    print(f"finished at {time.strftime('%X')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every delay")
    vif.run(main(parser.parse_args().scale))
