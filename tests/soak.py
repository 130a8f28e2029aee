"""Soak (make -f apxs.mk soak): every fixture URL under ab, for a while, on
each MPM and each clock at 1000 Hz, with every request profiled, while a
reader keeps rendering the page's heaviest views and exports and clears
the profile now and then, reads view=now in a loop while slow requests
run, and dumps them to a slow log (ReqProfSlowLog 1 FILE). Passes when no request failed, every page read
answered 200, the error log shows no crash, [crit], [emerg] or unexpected
[error], and the profile's accounting holds. SOAK_SECONDS (default 60)
per MPM and clock."""

import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from httpd_env import MAX_WORKERS_REACHED, MPMS, Httpd  # noqa: E402

URLS = ["/spin?a=3&b=2", "/sleep?ms=5", "/recurse?depth=200&ms=1",
        "/hello", "/tiny.txt", "/big.txt"]


def ab_round(srv, path):
    # No -k: ab's keep-alive mode counts "Length" failures against the event
    # MPM with or without mod_reqprof loaded (seen here: 1-8 per 1,200).
    p = subprocess.run(["ab", "-q", "-n", "200", "-c", "8",
                        srv.url(path)], capture_output=True, text=True)
    failed = re.search(r"Failed requests:\s+(\d+)", p.stdout)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", p.stdout)
    done = re.search(r"Complete requests:\s+(\d+)", p.stdout)
    return (int(done.group(1)) if done else 0,
            (int(failed.group(1)) if failed else 200)
            + (int(non2xx.group(1)) if non2xx else 0))


def upload_round(srv):
    """Chunked uploads, checked byte for byte by the fixture's hash."""
    body = b"x" * 10000
    bad = 0
    for _ in range(20):
        req = (b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               + b"".join(b"%x\r\n%s\r\n" % (1000, body[i:i + 1000])
                          for i in range(0, len(body), 1000))
               + b"0\r\n\r\n")
        if b"upload bytes=10000 " not in srv.raw(req):
            bad += 1
    return 20, bad


PAGES = ["/reqprof?view=tree&limit=0", "/reqprof?view=flame",
         "/reqprof?format=pprof", "/reqprof?format=json&view=functions",
         "/reqprof?format=callgrind", "/reqprof?view=requests",
         "/reqprof?view=now&format=json", "/reqprof?view=now"]


class SlowClient(threading.Thread):
    """Requests that run past ReqProfSlowLog's second, one after another:
    their stacks go to the slow log while the load runs."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.stop = srv, threading.Event()
        self.done = self.bad = 0

    def run(self):
        paths = ["/sleep?ms=1300", "/spin?a=1100"]
        while not self.stop.is_set():
            try:
                status, _, _ = self.srv.fetch(paths[self.done % 2])
                self.bad += status != 200
            except Exception:   # noqa: BLE001  (counted)
                self.bad += 1
            self.done += 1


class PageReader(threading.Thread):
    """Reads the page in a loop while the load runs (the page copies the
    regions under their seqlocks: it must never hold up a profiled request
    nor fail itself), and clears the profile every 5 s.  A new connection
    per read, as ab without -k: a reused keep-alive connection races the
    event MPM closing idle connections when it is busy (seen here without
    mod_reqprof: 16 of 5,095 reads on a kept-alive connection got
    "Remote end closed connection without response")."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.stop = srv, threading.Event()
        self.reads = self.bad = self.clears = 0
        self.slowest = 0.0
        self.why = []

    def clear(self):
        _, _, body = self.srv.fetch("/reqprof?format=json")
        nonce = json.loads(body)["nonce"]
        status, _, _ = self.srv.fetch(
            "/reqprof", method="POST",
            headers={"Origin": "http://127.0.0.1:%d" % self.srv.port,
                     "Content-Type": "application/x-www-form-urlencoded"},
            body=("action=clear&nonce=%s" % nonce).encode())
        return status == 303

    def run(self):
        last_clear = time.time()
        while not self.stop.is_set():
            for path in PAGES:
                t0 = time.time()
                try:
                    status, _, body = self.srv.fetch(path)
                    ok = status == 200
                    if not ok:
                        self.why.append("%s: %d %r" % (path, status,
                                                       body[:100]))
                except Exception as e:   # noqa: BLE001  (counted, reported)
                    ok = False
                    self.why.append("%s: %r" % (path, e))
                self.slowest = max(self.slowest, time.time() - t0)
                self.reads += 1
                self.bad += not ok
            if time.time() - last_clear > 5:
                try:
                    ok = self.clear()
                except Exception as e:   # noqa: BLE001
                    ok = False
                    self.why.append("clear: %r" % e)
                self.clears += 1
                self.bad += not ok
                last_clear = time.time()


def main():
    seconds = float(os.environ.get("SOAK_SECONDS", "60"))
    status = 0
    for mpm, timer in [(m, t) for m in MPMS for t in ("cpu", "real")]:
        srv = Httpd("soak-%s-%s" % (mpm, timer), mpm=mpm,
                    conf="ReqProf On\nReqProfTimer %s\nReqProfFrequency 1000\n"
                         "ReqProfExclude ^/reqprof\n"
                         "ReqProfSlowLog 1 logs/slow.log\n"
                         "<Location /reqprof>\n"
                         "SetHandler reqprof\n</Location>\n" % timer)
        srv.start()
        done = failed = 0
        end = time.time() + seconds
        reader = PageReader(srv)
        reader.start()
        slow_log = os.path.join(srv.root, "logs", "slow.log")
        # The server's files stay from run to run: this run's part.
        slow_from = os.path.getsize(slow_log)
        slow = SlowClient(srv)
        slow.start()
        try:
            while time.time() < end:
                for path in URLS:
                    d, f = ab_round(srv, path)
                    done += d
                    failed += f
                d, f = upload_round(srv)
                done += d
                failed += f
            reader.stop.set()
            reader.join()
            slow.stop.set()
            slow.join()
            prof = json.loads(srv.get("/reqprof?format=json&limit=1").text)
        finally:
            srv.stop()
        # ab's 8 clients, uploads and the page reader can hold all 16 of
        # prefork's workers at once: httpd says so (MAX_WORKERS_REACHED),
        # its load message, not a fault.
        problems = srv.log_problems(expected=(MAX_WORKERS_REACHED,))
        c = prof["counters"]
        balanced = c["ticks"] == (c["samples"] + c["buffer_full"]
                                  + c["unwind_failed"] + c["other_dropped"])
        print("soak %-8s %-4s %7d requests, %d failed, %d error-log problems,"
              " %d samples since the last clear, accounting %s; page read"
              " %d times (%d clears), %d bad, slowest %.2f s"
              % (mpm, timer, done, failed, len(problems), c["samples"],
                 "holds" if balanced else "BROKEN", reader.reads,
                 reader.clears, reader.bad, reader.slowest))
        if not balanced:
            status = 1
        for line in problems[:10] + reader.why[:5]:
            print("   ", line)
        with open(slow_log) as f:
            f.seek(slow_from)
            dumps = f.read().count("slow request: ")
        print("     slow requests %d (%d failed), %d slow-log dumps"
              % (slow.done, slow.bad, dumps))
        failed += slow.bad
        if failed or problems or reader.bad or not dumps:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
