#!/usr/bin/env python3
"""The same-run reference of `make bench`'s hot-path figure (issue 21): the gateway a careful
person writes in an afternoon. A thread per bus reads "68" frames from its serial port; each
press is one row in SQLite (Python's sqlite3, WAL, synchronous=FULL: one commit per press),
then its ack is written. No chain, no policy, no uplink.

  naive_gateway.py DB PORT [PORT ...]     (prints READY on stdout once every port is open)"""
import json, os, sqlite3, sys, threading, time, tty, uuid

db_path, ports = sys.argv[1], sys.argv[2:]

def setup():
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS record (record_id TEXT PRIMARY KEY, pad TEXT, key INTEGER, pressed_at INTEGER, body TEXT)")
    db.commit(); db.close()

def frames(buf):
    """(frames, rest): whole frames as (address, function, data) from the front of buf."""
    out = []
    while True:
        i = buf.find(b"\x68")
        if i < 0: return out, b""
        buf = buf[i:]
        if len(buf) < 4: return out, buf
        n = buf[1]
        if buf[2] != n or buf[3] != 0x68: buf = buf[1:]; continue
        if len(buf) < 4 + n + 2: return out, buf
        body = buf[4:4 + n]
        if buf[4 + n] == sum(body) % 256 and buf[5 + n] == 0x16 and n >= 2:
            out.append((body[0], body[1], body[2:]))
            buf = buf[6 + n:]
        else:
            buf = buf[1:]

def frame(addr, f, data):
    body = bytes([addr, f]) + bytes(data)
    return bytes([0xFF, 0x68, len(body), len(body), 0x68]) + body + bytes([sum(body) % 256, 0x16])

def serve(port):
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    db = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    db.execute("PRAGMA synchronous=FULL")
    buf = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk: return
        got, buf = frames(buf + chunk)
        for addr, f, data in got:
            if f != 0x11 or not data: continue
            now = int(time.time() * 1000)
            body = json.dumps({"record_id": str(uuid.uuid4()), "pad": f"{port}:{addr}", "key": data[0], "pressed_at": now})
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO record VALUES (?, ?, ?, ?, ?)", (str(uuid.uuid4()), f"{port}:{addr}", data[0], now, body))
            db.execute("COMMIT")
            os.write(fd, frame(addr, 0x01, data[:1]))

setup()
for p in ports:
    threading.Thread(target=serve, args=(p,), daemon=True).start()
print("READY", flush=True)
threading.Event().wait()
