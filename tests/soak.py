"""Soak (make -f apxs.mk soak): every fixture URL under ab, for a while, on
each MPM and each clock at 1000 Hz, with every request profiled, while a
reader keeps rendering the page's heaviest views and exports and clears
the profile now and then, reads view=now in a loop while slow requests
run, and dumps them to a slow log (ReqProfSlowLog 1 FILE). Passes when no request failed, every page read
answered 200, the error log shows no crash, [crit], [emerg] or unexpected
[error], and the profile's accounting holds. SOAK_SECONDS (default 60)
per MPM and clock.

Then the interpreters, SOAK_SECONDS each on both clocks at 1000 Hz: the
PHP page (mod_php, opcache on, prefork) and the WSGI application
(mod_wsgi embedded, on every MPM) in tests/apps/, every kind of work
theirs, with exceptions, generators and the application's own failures (a
PHP fatal error, a Python exception: 500s, which are counted apart and
must be exactly those), the page read meanwhile. Passes as above, and
when fewer than 1 % of the samples taken in a script failed to merge."""

import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from httpd_env import (MAX_WORKERS_REACHED, MPMS, Httpd, php_conf,  # noqa
                       wsgi_conf)

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


def ab_rounds(srv, paths):
    """One ab_round of each of PATHS: (done, failed) summed."""
    done = failed = 0
    for path in paths:
        d, f = ab_round(srv, path)
        done += d
        failed += f
    return done, failed


def holds(c):
    """Whether counters C keep the accounting invariant."""
    return c["ticks"] == (c["samples"] + c["buffer_full"]
                          + c["unwind_failed"] + c["other_dropped"])


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


# (name, MPMs, configuration, URLs that must answer 200, a URL whose
# answer is the application's own 500, the error-log lines that failure
# writes)
APPS = [
    ("php", ("prefork",), php_conf(),
     ["/php/work.php?a=2&b=1&method=1&closure=1&deep=1&regex=1&gen=2"
      "&throw=1", "/php/work.php?sleep=5", "/php/work.php?spin=50",
      "/php/work.php?level=60"],
     "/php/work.php?fatal=1", r"PHP Fatal error: .*undefined_function"),
    ("python", MPMS, wsgi_conf(),
     ["/py?a=2&b=1&method=1&deep=1&gen=2&zlib=1&throw=1", "/py?sleep=5",
      "/py?thread=5&a=1", "/py?level=60"],
     "/py?error=1", r"\[wsgi:error\]"),
]


def soak_app(name, mpm, timer, conf, urls, failing, failing_log, seconds):
    """One interpreter's soak on one MPM and clock; 0 when it passed."""
    srv = Httpd("soak-%s-%s-%s" % (name, mpm, timer), mpm=mpm,
                conf="ReqProf On\nReqProfTimer %s\nReqProfFrequency 1000\n"
                     "ReqProfExclude ^/reqprof\n<Location /reqprof>\n"
                     "SetHandler reqprof\n</Location>\n%s" % (timer, conf))
    srv.start()
    done = failed = own = own_bad = 0
    reader = PageReader(srv)
    reader.start()
    opcache = srv.get("/php/opcache.php").text.strip() if name == "php" \
        else "-"
    end = time.time() + seconds
    try:
        while time.time() < end:
            d, f = ab_rounds(srv, urls)
            done += d
            failed += f
            for _ in range(5):
                own += 1
                if srv.fetch(failing)[0] != 500:
                    own_bad += 1
        reader.stop.set()
        reader.join()
        # The reader clears the profile every 5 s: one more round after
        # its last clear, so that the merges counted are of real work.
        d, f = ab_round(srv, urls[0])
        done += d
        failed += f
        prof = json.loads(srv.get("/reqprof?format=json&limit=1").text)
    finally:
        srv.stop()
    problems = srv.log_problems(expected=(MAX_WORKERS_REACHED, failing_log))
    c = prof["counters"]
    balanced = holds(c)
    bad = c["script_mismatch"] + c["script_fault"]
    merges = bad + c["script_merged"] + c["script_cut"]
    print("soak %-6s %-8s %-4s %7d requests, %d failed, %d own 500s (%d "
          "not), %d error-log problems, accounting %s; script samples %d, "
          "failed to merge %d (%.2f %%), cut %d; opcache %s; page read %d "
          "times, %d bad"
          % (name, mpm, timer, done, failed, own, own_bad, len(problems),
             "holds" if balanced else "BROKEN", merges, bad,
             100.0 * bad / max(merges, 1), c["script_cut"], opcache,
             reader.reads, reader.bad))
    for line in problems[:10] + reader.why[:5]:
        print("   ", line)
    return int(bool(failed or own_bad or problems or reader.bad
                    or not balanced or not merges or bad * 100 > merges
                    or opcache == "off"))


def main():
    seconds = float(os.environ.get("SOAK_SECONDS", "60"))
    status = 0
    for name, mpms, conf, urls, failing, log in APPS:
        for mpm, timer in [(m, t) for m in mpms for t in ("cpu", "real")]:
            status |= soak_app(name, mpm, timer, conf, urls, failing, log,
                               seconds)
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
                d, f = ab_rounds(srv, URLS)
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
        balanced = holds(c)
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
