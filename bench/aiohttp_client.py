#!/usr/bin/python3
"""The aiohttp baseline of bench_http_client: TOTAL GETs of URL with
IN_FLIGHT at a time (workers over one session, a connection pool of
IN_FLIGHT), as asyncio users write it. Prints "<ok> <seconds>"."""
import asyncio
import sys
import time

import aiohttp


async def main(url, total, in_flight):
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(n):
            ok = 0
            for _ in range(n):
                async with session.get(url) as res:
                    await res.read()
                    ok += res.status == 200
            return ok

        start = time.perf_counter()
        oks = await asyncio.gather(
            *(worker(total // in_flight) for _ in range(in_flight)))
        elapsed = time.perf_counter() - start
    print(sum(oks), f"{elapsed:.6f}", flush=True)


asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
