"""Fork ``earnest serve`` on request, so that a kill test pays Python's start-up once:
``python tests/crash/serve_zygote.py``.

The zygote imports what ``earnest serve`` needs (the CLI, the API, uvicorn, the drivers), then
reads stdin, one request a line:

- ``serve URL PORT LOGFILE``: forks a child that runs the ``earnest`` command itself,
  ``earnest --database URL serve --port PORT`` (the same click entry point as the installed
  script), its stdout and stderr appended to ``LOGFILE``; prints ``PID <pid>``.
- ``reap PID``: waits for that child and prints ``EXIT <wait status>``. A child killed before
  it is reaped stays a zombie, so its pid cannot have been reused by another process when the
  test sends its SIGKILL.

End of stdin ends the zygote. It starts no thread and opens no database before forking.
"""

from __future__ import annotations

import os
import sys
import traceback


def preload() -> None:
    """Import, before any fork, what the serve command would import lazily."""
    import sqlite3  # noqa: F401

    import httpx  # noqa: F401
    import uvloop  # noqa: F401

    import earnest.api.app
    import earnest.api.server
    import earnest.cli.processes
    import earnest.service.delivery  # noqa: F401
    from earnest.cli import main  # noqa: F401


def serve(url: str, port: str, logfile: str) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        out = os.open(logfile, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        from earnest.cli import main

        try:
            main.main(["--database", url, "serve", "--port", port], prog_name="earnest")
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run() -> None:
    preload()
    print("ZYGOTE", flush=True)
    for line in sys.stdin:
        request, *args = line.split()
        if request == "serve":
            url, port, logfile = args
            print(f"PID {serve(url, port, logfile)}", flush=True)
        elif request == "reap":
            _, status = os.waitpid(int(args[0]), 0)
            print(f"EXIT {status}", flush=True)
        else:
            print(f"UNKNOWN {request}", flush=True)


if __name__ == "__main__":
    run()
