# A websockify-style client against a tunnel server, written with websockify's own WebSocket class
# (Debian package python3-websockify): offers the "binary" subprotocol, sends one binary message,
# reads the echo back as a byte stream, then closes with 1000 and waits for the server's Close.
#   python3 websockify_client.py ws://127.0.0.1:PORT/PATH SIZE
import json
import random
import sys

from websockify.websocket import WebSocket, WebSocketWantReadError


class Python3WebSocket(WebSocket):
    """websockify 0.10 builds a client's frame mask with a Python 2 idiom (bytes += int) that fails on
    Python 3; this one method is fixed, the handshake and the framing stay websockify's own."""

    def _sendmsg(self, opcode, msg):
        if self.client:
            return self._send(self._encode_hybi(opcode, msg, bytes(random.randrange(256) for _ in range(4))))
        return self._send(self._encode_hybi(opcode, msg))


def recv(ws):
    # websockify's API raises WantRead when a read brought no complete data frame (a Ping, half a
    # frame): on a blocking socket, reading again is the answer
    while True:
        try:
            return ws.recv()
        except WebSocketWantReadError:
            pass


url, size = sys.argv[1], int(sys.argv[2])
data = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(size))
ws = Python3WebSocket()
ws.connect(url, protocols=["binary"])
ws.sendmsg(data)
got = b""
while len(got) < size:
    chunk = recv(ws)
    if chunk is None:
        break
    got += chunk
ws.shutdown(None, 1000, "done")
while recv(ws) is not None:
    pass
print(json.dumps({"equal": got == data, "received": len(got), "protocol": ws.protocol,
                  "close_code": ws.close_code, "close_reason": ws.close_reason}))
