#!/usr/bin/env python3
"""A senseflow protocol client written from docs/protocol.md alone: Python's socket module plus OpenCV
(python3-opencv) to decode JPEG frames. It proves the protocol document is complete, and it is a starting
point for non-Node consumers.

    python3 tools/protocol-client.py tcp://127.0.0.1:8080 [--token T] [--stream cam] [--video jpeg|raw]
                                     [--frames N] [--seconds S] [--dump DIR] [--no-ack]

Prints one JSON line per received item (video frames: seq, captureNs, size, decoded image shape; audio
chunks; records; gaps; errors), then a summary line. --dump DIR writes each decoded video frame as
DIR/frame-SEQ.ppm (RGB) so other tools can check the pixels. It asks for flow control (HELLO "ack": true)
and acknowledges what it consumed as docs/protocol.md says, so its frames stay fresh however slowly it
reads; --no-ack makes it a non-acking client.
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time

import numpy as np

try:
    import cv2
except ImportError:  # decoding is optional: frames are still counted
    cv2 = None

MAGIC = b"SFN1"
HEADER = struct.Struct("<4sBBHIIQqQIIII")  # 56 bytes, little-endian (docs/protocol.md, "Message layout")
assert HEADER.size == 56
HELLO, STREAMS, VIDEO, AUDIO, RECORDS, GAP, STATS, ERROR, PING, ACK = range(1, 11)
MAX_PAYLOAD = 256 * 1024 * 1024
SAMPLE_DTYPES = {1: "<i2", 2: "<i4", 3: "<f4"}


def fourcc(code):
    return bytes([code & 0xFF, (code >> 8) & 0xFF, (code >> 16) & 0xFF, (code >> 24) & 0xFF]).decode("ascii", "replace")


def message(msg_type, payload=b"", stream=0, seq=0):
    return HEADER.pack(MAGIC, msg_type, 56, stream, len(payload), 0, seq, 0, 0, 0, 0, 0, 0) + payload


class Acker:
    """Flow control, client side (docs/protocol.md, "Flow control"): counts the bytes of server messages
    consumed and sends ACK (seq = that count) when `bytes` are unacknowledged, when `interval_ms` passed
    since the oldest unacknowledged byte, or before blocking on a read (nothing more is waiting)."""

    def __init__(self, sock, cadence, consumed):
        self.sock, self.interval, self.bytes = sock, cadence["intervalMs"] / 1000.0, cadence["bytes"]
        self.consumed, self.acked, self.since, self.sent = consumed, 0, time.monotonic(), 0

    def consume(self, n):
        if self.consumed == self.acked:
            self.since = time.monotonic()
        self.consumed += n
        due = self.consumed - self.acked >= self.bytes or time.monotonic() - self.since >= self.interval
        if due or not select.select([self.sock], [], [], 0)[0]:
            self.sock.sendall(message(ACK, seq=self.consumed))
            self.acked = self.consumed
            self.sent += 1


def read_exactly(sock, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise ConnectionError("server closed the connection")
        got += k
    return bytes(buf)


def read_message(sock):
    raw = read_exactly(sock, 56)
    magic, msg_type, header_bytes, stream, length, flags, seq, capture_ns, aux, f0, f1, f2, f3 = HEADER.unpack(raw)
    if magic != MAGIC:
        raise ValueError("bad magic")
    if header_bytes != 56:
        raise ValueError(f"header size {header_bytes}")
    if not 1 <= msg_type <= 10:
        raise ValueError(f"unknown message type {msg_type}")
    if length > MAX_PAYLOAD:
        raise ValueError(f"payload of {length} bytes is over the limit")
    payload = read_exactly(sock, length) if length else b""
    return dict(type=msg_type, stream=stream, flags=flags, seq=seq, captureNs=capture_ns, aux=aux,
                f0=f0, f1=f1, f2=f2, f3=f3, payload=payload)


def emit(obj):
    print(json.dumps(obj), flush=True)


def decode_video(m, dump):
    fmt = fourcc(m["f3"])
    out = {"kind": "video", "stream": m["stream"], "seq": str(m["seq"]), "captureNs": str(m["captureNs"]),
           "width": m["f0"], "height": m["f1"], "format": fmt, "bytes": len(m["payload"])}
    img = None
    if fmt in ("MJPG", "JPEG") and cv2 is not None:
        img = cv2.imdecode(np.frombuffer(m["payload"], np.uint8), cv2.IMREAD_COLOR)  # BGR
    elif fmt in ("RGB3", "BGR3"):
        rows = np.frombuffer(m["payload"], np.uint8).reshape(m["f1"], m["f2"])[:, : m["f0"] * 3]
        img = rows.reshape(m["f1"], m["f0"], 3)
        if fmt == "RGB3":
            img = img[:, :, ::-1]  # to BGR, like cv2.imdecode
    if img is not None:
        out["decoded"] = list(img.shape)
        if dump:
            rgb = np.ascontiguousarray(img[:, :, ::-1])
            with open(os.path.join(dump, f"frame-{m['seq']}.ppm"), "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (rgb.shape[1], rgb.shape[0]))
                f.write(rgb.tobytes())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", help="tcp://HOST:PORT")
    ap.add_argument("--token")
    ap.add_argument("--stream", action="append", help="stream name (repeatable; default: all)")
    ap.add_argument("--video", choices=["jpeg", "raw"], default="jpeg")
    ap.add_argument("--frames", type=int, default=10, help="stop after this many video frames")
    ap.add_argument("--seconds", type=float, default=10.0, help="stop after this long")
    ap.add_argument("--dump", help="directory to write decoded frames into (PPM)")
    ap.add_argument("--no-ack", action="store_true", help="do not ask for flow control (a non-acking client)")
    a = ap.parse_args()

    if not a.url.startswith("tcp://"):
        sys.exit("only tcp://HOST:PORT URLs are supported by this client")
    host, port = a.url[len("tcp://"):].rstrip("/").rsplit(":", 1)
    if a.dump:
        os.makedirs(a.dump, exist_ok=True)
    sock = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
    hello = {"video": a.video, "ack": not a.no_ack}
    if a.token:
        hello["token"] = a.token
    if a.stream:
        hello["streams"] = a.stream
    sock.sendall(message(HELLO, json.dumps(hello).encode()))

    names = {}
    counts = {"video": 0, "audio": 0, "records": 0, "gaps": 0, "stats": 0}
    end = time.monotonic() + a.seconds
    last_ping = time.monotonic()
    status = 0
    consumed = 0
    acker = None
    while time.monotonic() < end and counts["video"] < a.frames:
        m = read_message(sock)
        t = m["type"]
        # Bytes of server messages consumed, headers included; counted from the first byte of the connection.
        if acker:
            acker.consume(56 + len(m["payload"]))
        else:
            consumed += 56 + len(m["payload"])
        if t == STREAMS:
            body = json.loads(m["payload"])
            if "ack" in body:  # the server agreed to flow control: from now on, acknowledge
                acker = Acker(sock, body["ack"], consumed)
            names = {s["id"]: s["name"] for s in body["streams"]}
            emit({"kind": "streams", "streams": [{k: s[k] for k in ("id", "name", "kind", "encoding")} for s in body["streams"]]})
        elif t == VIDEO:
            counts["video"] += 1
            emit(decode_video(m, a.dump))
        elif t == AUDIO:
            counts["audio"] += 1
            samples = np.frombuffer(m["payload"], SAMPLE_DTYPES.get(m["f3"], "<i2")).reshape(-1, m["f1"])
            emit({"kind": "audio", "stream": names.get(m["stream"]), "seq": str(m["seq"]), "startFrame": str(m["aux"]),
                  "frames": m["f0"], "channels": m["f1"], "rate": m["f2"], "peak": float(np.abs(samples).max(initial=0))})
        elif t == RECORDS:
            counts["records"] += 1
            values = struct.unpack(f"<{m['f0']}d", m["payload"])
            emit({"kind": "records", "stream": names.get(m["stream"]), "seq": str(m["seq"]), "values": values[:8]})
        elif t == GAP:
            counts["gaps"] += 1
            emit({"kind": "gap", **json.loads(m["payload"])})
        elif t == STATS:
            counts["stats"] += 1
        elif t == ERROR:
            emit({"kind": "error", **json.loads(m["payload"])})
            status = 1
            break
        if time.monotonic() - last_ping > 10:
            sock.sendall(message(PING))
            last_ping = time.monotonic()
    sock.close()
    emit({"kind": "summary", **counts, "acks": acker.sent if acker else 0, "opencv": cv2 is not None})
    return status


if __name__ == "__main__":
    sys.exit(main())
