"""Tutorial: a low-level future, created by the loop, is resolved by a task.

Run with ``python examples/future_set_by_task.py [--scale 0.2]``; it takes
about 1 second (times the scale).
"""

import argparse
import asyncio
import time

import vif


async def set_after(fut, delay, value):
    # Sleep, then resolve the future: whoever awaits it wakes up.
    await asyncio.sleep(delay)
    fut.set_result(value)


async def main(scale):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    print(f"started at {time.strftime('%X')}")

    # Run set_after() in parallel; main() waits on the future meanwhile.
    loop.create_task(set_after(fut, 1 * scale, "... world"))
    print("hello ...")
    print(await fut)

    print(f"finished at {time.strftime('%X')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every delay")
    vif.run(main(parser.parse_args().scale))
