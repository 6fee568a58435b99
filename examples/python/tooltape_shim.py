"""The fake-tool shim: how an agent under tooltape runs its tools.

Every tool of the agent becomes a POST to $TOOLTAPE_TOOLS_URL/NAME with the tool's input
object as the JSON body. A 2xx reply's body is the tool's output; any other status means the
tool failed, its body the error text, and the shim raises ToolFailed. tooltape decides when
each call completes (latency, completion order), whether it fails, and whether it hangs.

Standard library only (asyncio streams): cancelling the call (asyncio.wait_for) closes its
connection, which tooltape records as the call being given up.
"""

import asyncio
import json
import os
from urllib.parse import urlsplit


class ToolFailed(Exception):
    """The tool failed; str(e) is its error text."""


async def call_tool(name: str, tool_input: dict) -> str:
    url = urlsplit(f"{os.environ['TOOLTAPE_TOOLS_URL']}/{name}")
    body = json.dumps(tool_input).encode()
    reader, writer = await asyncio.open_connection(url.hostname, url.port or 80)
    try:
        writer.write(
            (
                f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                "Content-Type: application/json\r\nConnection: close\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
             if line.lower().startswith(b"content-length:")),
            None,
        )
        payload = await (reader.readexactly(length) if length is not None else reader.read())
        text = payload.decode("utf-8", "replace")
    finally:
        writer.close()
    if 200 <= status < 300:
        return text
    raise ToolFailed(text)
