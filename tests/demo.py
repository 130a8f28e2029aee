"""The demo (make -f apxs.mk demo): a private httpd on 127.0.0.1 with
mod_reqprof and the shipped example config, a workload driven by ab, and
the page's URL. Serves until Ctrl-C, or for DEMO_SECONDS seconds.

Never touches /etc/apache2 or port 80: the ServerRoot is tests/out/demo,
the port a free one (or DEMO_PORT)."""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import httpd_env  # noqa: E402
from httpd_env import EXAMPLE_CONF, Httpd  # noqa: E402

CONF = """
Include "%s"
# The workload: the fixture's known work, and mod_deflate compressing a
# 2 MB text file.
<Location /big.txt>
    SetOutputFilter DEFLATE
</Location>
""" % EXAMPLE_CONF

WORKLOAD = [
    # (what, ab arguments, path)
    ("CPU work in fixture_spin_a/b", ["-n", "200", "-c", "4"],
     "/spin?a=20&b=10"),
    ("deep recursion", ["-n", "200", "-c", "4"], "/recurse?depth=40&ms=2"),
    ("mod_deflate, 2 MB", ["-n", "100", "-c", "4", "-H",
                           "Accept-Encoding: gzip"], "/big.txt"),
    ("blocking sleep", ["-n", "40", "-c", "4"], "/sleep?ms=25"),
    ("tiny static file", ["-n", "2000", "-c", "4"], "/tiny.txt"),
]


def main():
    srv = Httpd("demo", mpm="event", conf=CONF, modules=("deflate",),
                loglevel="warn reqprof:info")
    if os.environ.get("DEMO_PORT"):
        srv.port = int(os.environ["DEMO_PORT"])
        srv.write_config()
    srv.start()
    print("mod_reqprof demo: httpd %s (event MPM) on 127.0.0.1:%d, "
          "ServerRoot %s" % (httpd_env.HTTPD, srv.port, srv.root))
    try:
        print("\nworkload (ab):")
        for what, args, path in WORKLOAD:
            p = subprocess.run(["ab", "-q"] + args + [srv.url(path)],
                               capture_output=True, text=True)
            rps = re.search(r"Requests per second:\s+([\d.]+)", p.stdout)
            failed = re.search(r"Failed requests:\s+(\d+)", p.stdout)
            print("  %-30s %-28s %8s req/s, %s failed"
                  % (what, path, rps.group(1) if rps else "?",
                     failed.group(1) if failed else "?"))
        text = srv.get("/reqprof", params={"view": "functions",
                                           "format": "text", "limit": "15",
                                           "strip": "1"}).text
        print("\n--- %s ---" % srv.url("/reqprof?view=functions&format=text"
                                       "&limit=15&strip=1"))
        print(text)
        print("--- %s ---" % srv.url("/reqprof?explain=/spin&format=text"))
        print(srv.get("/reqprof", params={"explain": "/spin",
                                          "format": "text"}).text)
        print("page (open it in a browser on this machine; the example "
              "config allows local clients only):")
        for what, query in (("overview and controls", ""),
                            ("functions", "?view=functions"),
                            ("call tree", "?view=tree&min=1"),
                            ("flame graph", "?view=flame"),
                            ("requests", "?view=requests"),
                            ("pprof export", "?format=pprof"),
                            ("callgrind export", "?format=callgrind")):
            print("  %-22s %s" % (what, srv.url("/reqprof" + query)))
        print("error log: %s" % srv.error_log)
        seconds = os.environ.get("DEMO_SECONDS")
        if seconds:
            print("serving for %s s (DEMO_SECONDS)" % seconds)
            time.sleep(float(seconds))
        else:
            print("serving until Ctrl-C")
            while True:
                signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
        problems = srv.log_problems()
        if problems:
            print("error log problems:\n" + "\n".join(problems))
            return 1
    return 0


def interrupted(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, interrupted)
    sys.exit(main())
