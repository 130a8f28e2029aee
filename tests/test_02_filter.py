"""Include/exclude semantics, seen two ways on a real server: which requests
the request path decides to profile (LogLevel reqprof:trace1 logs each) and
what /reqprof?explain= says of the same paths. The two must agree."""

import re

import pytest

PAGE = """
<Location /reqprof>
    SetHandler reqprof
</Location>
"""

# (case, directives, {request path: profiled?})
CASES = [
    ("no lists: all", "", {
        "/tiny.txt": True, "/spin?a=1": True, "/hello": True}),
    ("include only", "ReqProfInclude ^/spin$\n", {
        "/spin?a=1": True, "/hello": False, "/tiny.txt": False}),
    ("exclude only", "ReqProfExclude \\.txt$\n", {
        "/tiny.txt": False, "/hello": True, "/spin?a=1": True}),
    ("exclude wins", "ReqProfInclude ^/spin ^/sleep\n"
                     "ReqProfExclude ^/spin\n", {
        "/spin?a=1": False, "/sleep?ms=1": True, "/hello": False}),
    ("several patterns, one directive each",
     "ReqProfInclude ^/hello$\nReqProfInclude ^/recurse\n", {
         "/hello": True, "/recurse?depth=2": True, "/tiny.txt": False}),
    ("search mode, not anchored", "ReqProfInclude ell\n", {
        "/hello": True, "/spin?a=1": False}),
    ("query string not matched", "ReqProfInclude a=1\n", {
        "/spin?a=1": False}),
    ("percent-decoded path", "ReqProfInclude \"^/a b/\"\n", {
        "/a%20b/x.txt": True, "/tiny.txt": False}),
    ("encoded form never seen", "ReqProfInclude %20\n", {
        "/a%20b/x.txt": False}),
    ("dot segments resolved", "ReqProfInclude \"^/a b/x\\.txt$\"\n", {
        "/static/../a%20b/x.txt": True}),
]


def profiled_paths(log):
    return set(re.findall(r"reqprof\(1001\): profiling (.+)$", log, re.M))


def uri_of(path):
    """r->uri for a request path: decoded, no query, dots resolved."""
    from urllib.parse import unquote
    import posixpath
    p = unquote(path.split("?")[0])
    return posixpath.normpath(p) if ".." in p else p


@pytest.mark.parametrize("case,conf,expect", CASES, ids=[c[0] for c in CASES])
def test_filter_semantics(httpd, mpm, case, conf, expect):
    srv = httpd(mpm=mpm, conf="ReqProf On\n" + conf + PAGE,
                loglevel="warn reqprof:trace1")
    for path in expect:
        # Raw request: requests would re-encode or normalise the path.
        srv.raw(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
    for path, want in expect.items():
        text = srv.get("/reqprof", params={"explain": path, "format": "text"}).text
        said = re.search(r"^decision +(\w+ ?\w*)", text, re.M).group(1)
        assert said.startswith("profiled" if want else "not profiled"), \
            (path, text)
    srv.stop()
    seen = profiled_paths(srv.new_log())
    for path, want in expect.items():
        assert (uri_of(path) in seen) == want, (path, seen)


def test_off_profiles_nothing(httpd, mpm):
    srv = httpd(mpm=mpm, conf="ReqProf Off\nReqProfInclude ^/\n" + PAGE,
                loglevel="warn reqprof:trace1")
    srv.get("/hello")
    text = srv.get("/reqprof", params={"explain": "/hello", "format": "text"}).text
    assert "profiling is off" in text
    srv.stop()
    assert profiled_paths(srv.new_log()) == set()


def test_explain_names_the_deciding_rule(httpd, mpm):
    srv = httpd(mpm=mpm, conf="ReqProf On\n"
                "ReqProfInclude ^/app/ ^/api/\n"
                "ReqProfExclude ^/app/static/ \\.png$\n" + PAGE)
    cases = {
        "/api/users": ("profiled", "ReqProfInclude #2 '^/api/'"),
        "/app/static/x.js": ("not profiled", "ReqProfExclude #1"),
        "/api/logo.png": ("not profiled", "ReqProfExclude #2 '\\.png$'"),
        "/other": ("not profiled: none of the 2 include", None),
    }
    for path, (decision, rule) in cases.items():
        text = srv.get("/reqprof", params={"explain": path, "format": "text"}).text
        assert re.search(r"^decision +" + re.escape(decision), text, re.M), \
            text
        if rule:
            line = re.search(r"^rule +(.*)$", text, re.M).group(1)
            assert rule in line, (rule, line)
            assert re.search(r"httpd\.conf:\d+$", line), line
        else:
            assert not re.search(r"^rule ", text, re.M)


def test_virtual_host_lists_replace_main(httpd, mpm):
    """A host's include list replaces the main one; its exclude list is
    inherited when it names none."""
    conf = ("ReqProf On\nReqProfInclude ^/spin\nReqProfExclude ^/hello\n"
            + PAGE + """
<VirtualHost 127.0.0.1:%(port)d>
    ServerName main.test
</VirtualHost>
<VirtualHost 127.0.0.1:%(port)d>
    ServerName other.test
    ReqProfInclude ^/(hello|sleep)
    <Location /reqprof>
        SetHandler reqprof
    </Location>
</VirtualHost>
""")
    srv = httpd(mpm=mpm, start=False, loglevel="warn reqprof:trace1")
    srv.set_conf(conf % {"port": srv.port})
    srv.start()

    def decide(host, path):
        text = srv.get("/reqprof", params={"explain": path, "format": "text"},
                       headers={"Host": host}).text
        return re.search(r"^decision +(.*)$", text, re.M).group(1)

    assert decide("main.test", "/spin").startswith("profiled")
    assert decide("main.test", "/sleep").startswith("not profiled")
    assert decide("other.test", "/spin").startswith("not profiled")
    assert decide("other.test", "/sleep").startswith("profiled")
    assert "exclude" in decide("other.test", "/hello")
    srv.get("/sleep?ms=1", headers={"Host": "other.test"})
    srv.get("/sleep?ms=1", headers={"Host": "main.test"})
    srv.stop()
    lines = [l for l in srv.new_log().splitlines() if "reqprof(1001)" in l]
    assert len(lines) == 1 and "profiling /sleep" in lines[0], lines


def test_invalid_utf8_path_is_matched_not_rejected(httpd, mpm):
    srv = httpd(mpm=mpm, conf="ReqProf On\nReqProfInclude ^/x\n" + PAGE,
                loglevel="warn reqprof:trace1")
    srv.raw(b"GET /x%ff%fe HTTP/1.0\r\n\r\n")
    text = srv.get("/reqprof", params={"explain": "/x%ff", "format": "text"}).text
    assert "decision         profiled" in text
    assert "\\xFF" in text
    srv.stop()
    # httpd's error log escapes the bytes.
    assert "profiling /x\\xff\\xfe\n" in srv.new_log()


def test_hostile_pattern_is_bounded(httpd, mpm):
    """A catastrophic pattern against a long path costs a bounded time,
    counts as no match, and is counted; requests are served as usual."""
    import time
    srv = httpd(mpm=mpm, conf="ReqProf On\nReqProfInclude (a+)+$\n" + PAGE)
    # Segments under NAME_MAX and a path under PATH_MAX, or httpd itself
    # refuses it.
    path = "/" + "/".join(["a" * 200] * 15) + "b"
    t = time.time()
    status, _, _ = srv.fetch(path)
    assert status == 404
    text = srv.get("/reqprof", params={"explain": path, "format": "text"}).text
    assert time.time() - t < 2.0
    assert "decision         not profiled" in text
    assert re.search(r"^limit hits +1 pattern", text, re.M), text
    assert not re.search(r"^match-limit hits +0 ",
                         srv.get("/reqprof?format=text").text, re.M)
