"""What a local user with no privileges does to a root daemon, one command per attack; run by the integration tests.

  swap-socket DIR TARGET SECONDS   replace DIR/s with a link to TARGET whenever it is a socket (the bind-then-chmod race)
  hold-connections ADDRESS COUNT SECONDS
                                   keep COUNT idle connections to ADDRESS open (reconnecting those closed), saying nothing:
                                   a path is the main socket (SEQPACKET), a leading @ the portserver's abstract address
  refused-requests SOCKET COUNT    send COUNT requests the daemon refuses (release of token 1) and read every reply
  recycle PID SECONDS CMD...       fork until a child gets PID, which then execs CMD (keeping that pid); exit with its status
  orphan SOCKET PROTOCOL START COUNT [wait]
                                   acquire on a connection, hand it to a child and exit (a daemonizing service does that):
                                   prints "TOKEN START COUNT PID"; the child keeps the connection until stdin ends, and on
                                   a line "share" asks the daemon to share the connection's reservations with child
                                   processes, printing "share STATUS". With "wait" the parent exits only on SIGUSR1
  zombie-orphan SOCKET             a process connects, hands the connection to a child and exits without being reaped (a
                                   zombie): prints "orphaned PID" once it has; the child, on a line "acquire", asks for a
                                   TCP port on that connection and prints "acquire STATUS"
  time-wait START END              leave each TCP port START..END in TIME_WAIT (a connection from it, closed first here)
  squat PROTOCOL PORT SECONDS      bind PORT in a tight loop; whenever the bind lands while PORT is in the kernel's reserved
                                   list (a grant happened as it held it), keep it while it stays reserved: the port is then
                                   owned by this process, not by whoever it was granted to. Prints "kept N" at the end
  bind-loop PROTOCOL PORT SECONDS  bind 127.0.0.1:PORT as fast as it can; prints "bound N of TRIES" at the end
  orphan-associate SOCKET TOKEN PROTOCOL
                                   associate with a (persistent) reservation, hand the connection to a child and exit:
                                   prints "STATUS PID"; the child keeps the connection until stdin ends
  associate-close SOCKET TOKEN PROTOCOL PORT SECONDS
                                   associate with a (persistent) reservation, bind PORT, close the connection and go on
                                   binding PORT for up to SECONDS: prints "associate STATUS", "bind RESULT" (ok, or the
                                   errno's name), then "revoked ERRNO" once a bind fails or "still ok" if none did
  listen-abstract NAME             listen on the abstract AF_UNIX address @NAME (any user may take a free one) until stdin
                                   ends: prints "listening" once it does, or "taken ERRNO" when someone else has it
  listen-seqpacket PATH            listen on PATH (SEQPACKET, as the daemon does; mode 0666) until stdin ends, reading what
                                   every client sends: prints "listening", then "received N" per frame
  associate-many SOCKET CONNECTIONS PROTOCOL TOKEN...
                                   open CONNECTIONS connections and associate each with every TOKEN, holding them until
                                   stdin ends: prints "associated OK REFUSED LASTSTATUS" once all were asked
  never-reap CMD...                start CMD and never reap it: once it dies it stays a zombie, holding its pid, until
                                   stdin ends. Prints "child PID"
"""
import errno
import os
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time

ACQUIRE = 1
RELEASE = 2
ASSOCIATE = 3
SHARE = 9
PROTOCOLS = {"tcp": 1, "udp": 2}


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


def advance_to(pid, pid_max):
    """Threads take pids from the same counter as processes and start far faster: run it up to just below pid."""
    while True:
        tids = []
        thread = threading.Thread(target=lambda: tids.append(threading.get_native_id()))
        thread.start()
        thread.join()
        if 0 < (pid - tids[0]) % pid_max <= 32:
            return


def recycle(pid, seconds, *command):
    """The attack on any identity that is a pid number: wait for the pid to be free, then fork until it comes back."""
    pid = int(pid)
    with open("/proc/sys/kernel/pid_max") as limit:
        pid_max = int(limit.read())
    deadline = time.monotonic() + float(seconds)
    forks = 0
    while time.monotonic() < deadline:
        if forks % 64 == 0:
            advance_to(pid, pid_max)
        child = os.fork()
        if child == 0:
            if os.getpid() == pid:
                try:
                    os.execvp(command[0], list(command))
                finally:
                    os._exit(127)
            os._exit(0)
        forks += 1
        _, status = os.waitpid(child, 0)
        if child == pid:
            print(f"recycled pid {pid} after {forks} forks", file=sys.stderr, flush=True)
            return os.waitstatus_to_exitcode(status)
    print(f"pid {pid} did not come back in {seconds} s ({forks} forks)", file=sys.stderr, flush=True)
    return 125


def request(connection, message_type, payload=b"", request_id=1):
    """Sends one request and returns (status, payload) of its reply."""
    connection.send(frame(message_type, request_id, payload))
    reply = connection.recv(65536)
    return reply[3], reply[8:]


def hold_until_stdin_ends(connection):
    for line in sys.stdin:
        if line.strip() == "share":
            status, _ = request(connection, SHARE, request_id=2)
            print(f"share {status}", flush=True)
    os._exit(0)


def orphan(path, protocol, start, count, wait=None):
    connection = connect(path)
    status, grant = request(connection, ACQUIRE, struct.pack("<BHH", PROTOCOLS[protocol], int(start), int(count)))
    if status != 0:
        print(f"error {status} {grant[2:].decode(errors='replace')}", flush=True)
        return 1
    _, granted_start, granted_count, token = struct.unpack("<BHHQ", grant[:13])
    if os.fork() == 0:
        hold_until_stdin_ends(connection)
    if wait == "wait":
        # Blocked before the line that tells the test to send it, so it cannot arrive before the wait and be lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print(f"{token} {granted_start} {granted_count} {os.getpid()}", flush=True)
    if wait == "wait":
        signal.sigwait({signal.SIGUSR1})
    return 0


def orphan_associate(path, token, protocol):
    connection = connect(path)
    status, _ = request(connection, ASSOCIATE, struct.pack("<QB", int(token), PROTOCOLS[protocol]))
    if os.fork() == 0:
        hold_until_stdin_ends(connection)
    print(f"{status} {os.getpid()}", flush=True)
    return 0


def try_bind(protocol, port):
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return "ok"
        except OSError as error:
            return errno.errorcode.get(error.errno, str(error.errno))


def associate_close(path, token, protocol, port, seconds):
    port = int(port)
    connection = connect(path)
    status, _ = request(connection, ASSOCIATE, struct.pack("<QB", int(token), PROTOCOLS[protocol]))
    print(f"associate {status}", flush=True)
    print(f"bind {try_bind(protocol, port)}", flush=True)
    connection.close()
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        result = try_bind(protocol, port)
        if result != "ok":
            print(f"revoked {result}", flush=True)
            return 0
        time.sleep(0.02)
    print("still ok", flush=True)
    return 0


def reserved(port):
    with open("/proc/sys/net/ipv4/ip_local_reserved_ports") as listing:
        for entry in listing.read().strip().split(","):
            if entry:
                low, _, high = entry.partition("-")
                if int(low) <= port <= int(high or low):
                    return True
    return False


def squat(protocol, port, seconds):
    port = int(port)
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    deadline = time.monotonic() + float(seconds)
    kept = 0
    while time.monotonic() < deadline:
        squatter = socket.socket(socket.AF_INET, kind)
        try:
            squatter.bind(("127.0.0.1", port))
            if reserved(port):
                kept += 1
                while reserved(port) and time.monotonic() < deadline:
                    time.sleep(0.001)
        except OSError:
            pass
        finally:
            squatter.close()
    print(f"kept {kept}", flush=True)


def bind_loop(protocol, port, seconds):
    # Binds the port as fast as it can, counting the binds that got through.
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    deadline = time.monotonic() + float(seconds)
    bound = tries = 0
    while time.monotonic() < deadline:
        tries += 1
        with socket.socket(socket.AF_INET, kind) as binder:
            try:
                binder.bind(("127.0.0.1", int(port)))
                bound += 1
            except OSError:
                pass
    print(f"bound {bound} of {tries}", flush=True)


def zombie_orphan(path):
    # This process never reaps the one that connects: that one stays a zombie while its child speaks on its connection.
    # It leaves stdin to that child, and waits for the child's end as the end of a pipe the child holds.
    done, held = os.pipe()
    if os.fork() == 0:
        os.close(done)
        connection = connect(path)
        opener = os.getpid()
        if os.fork() == 0:
            while os.getppid() == opener:
                time.sleep(0.01)
            print(f"orphaned {opener}", flush=True)
            for line in sys.stdin:
                if line.strip() == "acquire":
                    status, _ = request(connection, ACQUIRE, struct.pack("<BHH", PROTOCOLS["tcp"], 0, 1), request_id=3)
                    print(f"acquire {status}", flush=True)
            os._exit(0)
        os._exit(0)
    os.close(held)
    os.read(done, 1)
    return 0


def time_wait(start, end):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    for port in range(int(start), int(end) + 1):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        client.bind(("127.0.0.1", port))
        client.connect(listener.getsockname())
        served, _ = listener.accept()
        client.close()
        served.close()
    print("time-wait done", flush=True)


def listen_abstract(name):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind("\0" + name)
    except OSError as e:
        print(f"taken {errno.errorcode.get(e.errno, e.errno)}", flush=True)
        return 1
    listener.listen(16)
    print("listening", flush=True)
    sys.stdin.read()
    return 0


def listen_seqpacket(path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    os.chmod(path, 0o666)
    listener.listen(16)
    print("listening", flush=True)

    def serve():
        while True:
            connection, _ = listener.accept()
            while True:
                data = connection.recv(65536)
                if not data:
                    break
                print(f"received {len(data)}", flush=True)
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    sys.stdin.read()
    os.unlink(path)
    return 0


def associate_many(path, connections, protocol, *tokens):
    held = [connect(path) for _ in range(int(connections))]
    ok = refused = last = 0
    for index, connection in enumerate(held):
        for token in tokens:
            status, _ = request(connection, ASSOCIATE, struct.pack("<QB", int(token), PROTOCOLS[protocol]), request_id=index + 1)
            if status == 0:
                ok += 1
            else:
                refused += 1
                last = status
    print(f"associated {ok} {refused} {last}", flush=True)
    sys.stdin.read()
    return 0


def never_reap(*command):
    child = os.fork()
    if child == 0:
        os.execvp(command[0], command)
    print(f"child {child}", flush=True)
    sys.stdin.read()
    return 0


def main(argv):
    commands = {
        "swap-socket": swap_socket,
        "hold-connections": hold_connections,
        "refused-requests": refused_requests,
        "recycle": recycle,
        "orphan": orphan,
        "orphan-associate": orphan_associate,
        "squat": squat,
        "bind-loop": bind_loop,
        "zombie-orphan": zombie_orphan,
        "associate-close": associate_close,
        "time-wait": time_wait,
        "listen-abstract": listen_abstract,
        "never-reap": never_reap,
        "associate-many": associate_many,
        "listen-seqpacket": listen_seqpacket,
    }
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[1]](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
