"""Container HEALTHCHECK: exit 0 when the process answers GET /healthz, 1 otherwise.

Usage: ``healthcheck.py PORT_VARIABLE DEFAULT_PORT``. The port is read from the environment at
check time, so an image run with another ``$PORT`` is still checked on the port it serves.
Standard library only: the runtime images carry no curl or wget.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def check(port_variable: str, default_port: str, path: str = "/healthz") -> int:
    """Return the exit status for one probe of ``http://127.0.0.1:$PORT_VARIABLE{path}``."""
    port = os.environ.get(port_variable, default_port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=4) as response:
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"healthcheck on port {port} failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(check(*sys.argv[1:3]))
