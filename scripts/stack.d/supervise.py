#!/usr/bin/env python3
"""Run a command and start it again whenever it exits (scripts/stack).

Usage: supervise.py CHILD_PID_FILE -- COMMAND [ARG...]

The child's PID is written to CHILD_PID_FILE while it runs, so tests can
freeze (SIGSTOP) or kill the server itself rather than this loop. A child
that exits is started again after a pause that doubles from 1 s up to 30 s
and returns to 1 s once a child has run for a minute. SIGTERM or SIGINT stops
the child (SIGTERM, then SIGKILL after 20 s), removes CHILD_PID_FILE and
exits 0.
"""

import os
import signal
import subprocess
import sys
import time

stopping = False


def log(msg):
    print("supervise: %s %s" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), msg), flush=True)


def main(argv):
    global stopping
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: supervise.py CHILD_PID_FILE -- COMMAND [ARG...]\n")
        return 2
    pid_file, cmd = argv[1], argv[3:]
    child = None

    def stop(signum, _frame):
        global stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = 1.0
    while not stopping:
        started = time.monotonic()
        child = subprocess.Popen(cmd)
        with open(pid_file, "w") as f:
            f.write("%d\n" % child.pid)
        log("started %s (pid %d)" % (cmd[0], child.pid))
        try:
            rc = child.wait()
        except KeyboardInterrupt:
            rc = child.wait()
        if stopping:
            break
        if time.monotonic() - started > 60:
            pause = 1.0
        log("pid %d exited with status %d; starting again in %.0f s" % (child.pid, rc, pause))
        deadline = time.monotonic() + pause
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        pause = min(pause * 2, 30.0)
    if child is not None and child.poll() is None:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    try:
        os.remove(pid_file)
    except FileNotFoundError:
        pass
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
