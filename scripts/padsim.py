"""Pieces the fault harness and the benchmark share: a "68" frame, and a raw pty whose slave
is linked where a daemon config expects a bus port (the pad's side is the master)."""
import os, tty

def frame(addr, f, data):
    body = bytes([addr, f]) + bytes(data)
    return bytes([0xFF, 0x68, len(body), len(body), 0x68]) + body + bytes([sum(body) % 256, 0x16])

def linked_pty(link):
    """(master, slave) of a new raw pty; `link` now points at the slave."""
    master, slave = os.openpty()
    tty.setraw(slave)
    if os.path.lexists(link): os.unlink(link)
    os.symlink(os.ttyname(slave), link)
    return master, slave
