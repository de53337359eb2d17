"""What a local user with no privileges does to a root daemon, one command per attack; run by the integration tests.

  swap-socket DIR TARGET SECONDS   replace DIR/s with a link to TARGET whenever it is a socket (the bind-then-chmod race)
  hold-connections ADDRESS COUNT SECONDS
                                   keep COUNT idle connections to ADDRESS open (reconnecting those closed), saying nothing:
                                   a path is the main socket (SEQPACKET), a leading @ the portserver's abstract address
  refused-requests SOCKET COUNT    send COUNT requests the daemon refuses (release of token 1) and read every reply
"""
import os
import select
import socket
import stat
import struct
import sys
import time

RELEASE = 2


def swap_socket(directory, target, seconds):
    path = os.path.join(directory, "s")
    link = os.path.join(directory, ".l")
    deadline = time.monotonic() + float(seconds)
    swaps = 0
    while time.monotonic() < deadline:
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                try:
                    os.unlink(link)
                except FileNotFoundError:
                    pass
                os.symlink(target, link)
                os.rename(link, path)
                swaps += 1
        except OSError:
            pass
    print(f"swapped {swaps}", flush=True)


def connect(address, timeout=None):
    """A connection to the main socket (a path: SEQPACKET) or the portserver's abstract address (a leading @)."""
    abstract = address.startswith("@")
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM if abstract else socket.SOCK_SEQPACKET)
    try:
        # A full backlog would block a connect for good; a flood wants to count it and go on.
        connection.settimeout(timeout)
        connection.connect("\0" + address[1:] if abstract else address)
        connection.settimeout(None)
    except OSError:
        connection.close()
        raise
    return connection


def hold_connections(address, count, seconds):
    count = int(count)
    deadline = time.monotonic() + float(seconds)
    held, opened, refused = [], 0, 0
    while time.monotonic() < deadline:
        while len(held) < count and time.monotonic() < deadline:
            try:
                held.append(connect(address, timeout=0.2))
                opened += 1
            except OSError:
                refused += 1
                time.sleep(0.001)
        # A connection the daemon closed (or told it was over a limit) reads as ready: drop it, open another.
        ready, _, _ = select.select(held[:1000], [], [], 0.05) if held else ([], [], [])
        for connection in ready:
            held.remove(connection)
            connection.close()
        print(f"holding {len(held)} opened {opened} refused {refused}", flush=True)
    print(f"done opened {opened} refused {refused}", flush=True)


def frame(message_type, request_id, payload=b""):
    return struct.pack("<BBBBI", 1, message_type, 0, 0, request_id) + payload


def refused_requests(path, count):
    connection = connect(path)
    refused = 0
    for request_id in range(1, int(count) + 1):
        connection.send(frame(RELEASE, request_id, struct.pack("<QB", 1, 0)))
        reply = connection.recv(65536)
        refused += reply[3] != 0
    print(f"refused {refused}", flush=True)


def main(argv):
    commands = {"swap-socket": swap_socket, "hold-connections": hold_connections, "refused-requests": refused_requests}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[1]](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
