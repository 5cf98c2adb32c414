#!/usr/bin/env python3
"""Serve a ClickHouse server from the chdb-core wheel (scripts/stack's clickhouse26).

Usage: chdb-server.py DIR

DIR holds config.xml (listen_host, tcp_port, http_port, path). chdb reads the
config of its working directory, so this changes into DIR, opens the native
and HTTP listeners, and then keeps one query running: the listeners live only
as long as the call that opened them. The process exits when that query ends
(KILL QUERY ... sleepEachRow, or after about three years) or on SIGTERM;
scripts/stack.d/supervise.py starts it again when it should still run.

Only the legacy call chdb._chdb.query opens listeners: the connection API
answers "start_servers_callback is not set" to SYSTEM START LISTEN.
"""

import os
import sys

HOLD = (
    "SELECT count() FROM numbers(100000000) WHERE sleepEachRow(1) = 0 "
    "SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 1000000000000"
)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: chdb-server.py DIR\n")
        return 2
    folder = os.path.abspath(argv[1])
    os.chdir(folder)
    from chdb import _chdb  # imported late: it takes a second and 300 MB

    sql = "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; " + HOLD
    print("chdb-server: serving from %s (pid %d)" % (folder, os.getpid()), flush=True)
    try:
        _chdb.query(sql, "CSV", path=os.path.join(folder, "data"))
    except Exception as err:  # the batch failed or was killed: say why, let the supervisor decide
        print("chdb-server: batch ended: %s" % err, flush=True)
        return 1
    print("chdb-server: batch ended", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
