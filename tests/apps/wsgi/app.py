"""A WSGI application of known work for mod_reqprof's interpreter tests
(mod_wsgi, embedded mode): what each part costs is set by the query, so a
test knows the split it must find.  ?a=N&b=M: CPU in two functions (3:1
when N = 3M); method, generator, recursion 30 deep, zlib.compress (C code
under its Python caller), sleep, a thread of the application's own, an
exception, an error; ?level=N: the recursion N deep (the walk's
benchmark); ?faulthandler=1: Python's own fault handler enabled, over the
module's."""

import threading
import time
import zlib
from urllib.parse import parse_qs

UNIT = 20000
DATA = bytes(range(256)) * 4096
FAULT_FILE = None


def burn(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def work_a(units):
    return burn(units * UNIT)


def work_b(units):
    return burn(units * UNIT)


class Shop:
    def total(self, units):
        return burn(units * UNIT)


def deep(level, units):
    if level <= 1:
        return burn(units * UNIT)
    return deep(level - 1, units)


def numbers(units):
    for _ in range(units):
        yield burn(UNIT)


def pack(units):
    n = 0
    for _ in range(units):
        n += len(zlib.compress(DATA, 9))
    return n


def pause(ms):
    time.sleep(ms / 1000.0)


def background(ms):
    # The application's own thread: not a request's, never profiled.
    end = time.time() + ms / 1000.0
    while time.time() < end:
        burn(1000)


def application(environ, start_response):
    q = {k: int(v[0]) for k, v in parse_qs(environ.get("QUERY_STRING", ""))
         .items() if v[0].isdigit()}
    out = []
    if q.get("faulthandler"):
        # Python's own SIGSEGV handler over the module's guard.
        import faulthandler
        global FAULT_FILE
        # mod_wsgi's stderr has no descriptor: faulthandler needs one.
        FAULT_FILE = open("/dev/null", "w")
        faulthandler.enable(file=FAULT_FILE)
    if q.get("thread"):
        t = threading.Thread(target=background, args=(q["thread"],))
        t.start()
    if q.get("a"):
        out.append(work_a(q["a"]))
    if q.get("b"):
        out.append(work_b(q["b"]))
    if q.get("method"):
        out.append(Shop().total(q["method"]))
    if q.get("deep"):
        out.append(deep(30, q["deep"]))
    if q.get("level"):
        out.append(deep(q["level"], 1))
    if q.get("gen"):
        out.extend(numbers(q["gen"]))
    if q.get("zlib"):
        out.append(pack(q["zlib"]))
    if q.get("sleep"):
        pause(q["sleep"])
    if q.get("throw"):
        try:
            raise ValueError("planned")
        except ValueError:
            out.append("caught")
    if q.get("thread"):
        t.join()
    if q.get("error"):
        raise RuntimeError("the application fails on purpose")
    body = (" ".join(str(x) for x in out) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
