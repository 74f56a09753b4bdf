#!/usr/bin/env python3
"""A senseflow protocol client written from docs/protocol.md alone: Python's socket module plus OpenCV
(python3-opencv) to decode JPEG frames. It proves the protocol document is complete, and it is a starting
point for non-Node consumers.

    python3 tools/protocol-client.py tcp://127.0.0.1:8080 [--token T] [--stream cam] [--video jpeg|raw]
                                     [--frames N] [--seconds S] [--dump DIR]

Prints one JSON line per received item (video frames: seq, captureNs, size, decoded image shape; audio
chunks; records; gaps; errors), then a summary line. --dump DIR writes each decoded video frame as
DIR/frame-SEQ.ppm (RGB) so other tools can check the pixels.
"""
import argparse
import json
import os
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
HELLO, STREAMS, VIDEO, AUDIO, RECORDS, GAP, STATS, ERROR, PING = range(1, 10)
MAX_PAYLOAD = 256 * 1024 * 1024
SAMPLE_DTYPES = {1: "<i2", 2: "<i4", 3: "<f4"}


def fourcc(code):
    return bytes([code & 0xFF, (code >> 8) & 0xFF, (code >> 16) & 0xFF, (code >> 24) & 0xFF]).decode("ascii", "replace")


def message(msg_type, payload=b"", stream=0):
    return HEADER.pack(MAGIC, msg_type, 56, stream, len(payload), 0, 0, 0, 0, 0, 0, 0, 0) + payload


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
    if not 1 <= msg_type <= 9:
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
    a = ap.parse_args()

    if not a.url.startswith("tcp://"):
        sys.exit("only tcp://HOST:PORT URLs are supported by this client")
    host, port = a.url[len("tcp://"):].rstrip("/").rsplit(":", 1)
    if a.dump:
        os.makedirs(a.dump, exist_ok=True)
    sock = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
    hello = {"video": a.video}
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
    while time.monotonic() < end and counts["video"] < a.frames:
        m = read_message(sock)
        t = m["type"]
        if t == STREAMS:
            body = json.loads(m["payload"])
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
    emit({"kind": "summary", **counts, "opencv": cv2 is not None})
    return status


if __name__ == "__main__":
    sys.exit(main())
