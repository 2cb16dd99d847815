#!/usr/bin/python3
"""The aiohttp baseline of bench_http_server: GET /hello answers the same
text as the coactor route. Binds 127.0.0.1 on a free port and prints it."""
import asyncio
import socket
import sys

from aiohttp import web

BODY = sys.argv[1] if len(sys.argv) > 1 else "hello world"


async def hello(_request):
    return web.Response(text=BODY)


async def main():
    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    print(sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()  # until SIGTERM


asyncio.run(main())
