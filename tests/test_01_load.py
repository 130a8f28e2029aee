"""Loaded, the module changes nothing: every response of a server with
mod_reqprof (off; on with nothing matching; on with everything matching)
is byte for byte that of the same server without it, on every MPM."""

import re

import pytest

PAGE = """
<Location /reqprof>
    SetHandler reqprof
    Require local
</Location>
"""

VARIANTS = {
    "off": "ReqProf Off\nReqProfInclude ^/\n",
    "on-nothing-matches": "ReqProf On\nReqProfInclude ^/never-used$\n"
                          "ReqProfExclude \\.txt$\n",
    "on-everything-matches": "ReqProf On\n",
}


def requests_to_compare():
    """(label, raw HTTP request bytes)."""
    def get(path, extra=""):
        return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
                "Connection: close\r\n\r\n" % (path, extra)).encode()
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    upload = (b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body)
    return [
        ("static", get("/tiny.txt")),
        ("index", get("/")),
        ("encoded path", get("/a%20b/x.txt")),
        ("404", get("/no/such/file")),
        ("range", get("/tiny.txt", "Range: bytes=1-2\r\n")),
        ("head", b"HEAD /tiny.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Connection: close\r\n\r\n"),
        ("fixture hello", get("/hello")),
        ("fixture spin", get("/spin?a=3&b=1")),
        ("fixture sleep", get("/sleep?ms=5")),
        ("fixture recurse", get("/recurse?depth=40&ms=1")),
        ("chunked upload", upload),
        ("bad request", b"GARBAGE\r\n\r\n"),
        ("http/1.0", b"GET /tiny.txt HTTP/1.0\r\n\r\n"),
    ]


def normalise(raw):
    """Drop the headers that differ between any two servers (the date)."""
    return re.sub(rb"\r\nDate: [^\r]*", b"", raw)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_loaded_module_changes_no_response(httpd, mpm, variant):
    ref = httpd(mpm=mpm, reqprof=False)
    var = httpd(mpm=mpm, conf=VARIANTS[variant] + PAGE)
    for label, req in requests_to_compare():
        a, b = normalise(ref.raw(req)), normalise(var.raw(req))
        assert a, label
        assert a == b, "%s differs:\n%r\n%r" % (label, a, b)


def test_page_absent_without_sethandler(httpd, mpm):
    """The handler answers only where SetHandler reqprof puts it."""
    srv = httpd(mpm=mpm, conf="ReqProf On\n")
    assert srv.get("/reqprof").status_code == 404


def test_module_logs_its_start(httpd, mpm):
    srv = httpd(mpm=mpm, conf="ReqProf Off\n", loglevel="warn reqprof:info")
    srv.get("/tiny.txt")
    srv.stop()
    log = srv.new_log()
    assert re.search(r"reqprof\(1305\): mod_reqprof [\d.]+: \d+ slots of "
                     r"\d+ bytes; profiling off, cpu timer, 99 Hz", log), log
