"""The reqprof handler: its answers, its headers, and a clear 400 for every
bad query (never a 500), on every MPM."""

import pytest

PAGE = """
ReqProf On
ReqProfInclude ^/spin
<Location /reqprof>
    SetHandler reqprof
    Require local
</Location>
"""

BAD_QUERIES = [
    ("bogus=1", "unknown parameter 'bogus'"),
    ("explain=/a&explain=/b", "parameter 'explain' given more than once"),
    ("format=xml", "format 'xml' is not one of: html, text, json, svg, "
                   "collapsed, pprof, callgrind, dot, speedscope"),
    ("view=bogus", "view 'bogus' is not one of: overview, functions, "
                   "callers, callees, tree, flame, requests, request, explain, now"),
    ("view=tree&view=flame", "parameter 'view' given more than once"),
    ("limit=99999999999", "limit must be 0 to 1000000, not 99999999999"),
    ("fraction=2", "fraction: fraction '2' is not a number from 0 to 1"),
    ("fraction=abc", "fraction: fraction 'abc' is not a number from 0 to 1"),
    ("fraction=nan", "fraction: fraction 'nan' is not a number from 0 to 1"),
    ("min=101", "min: min '101' is not a number from 0 to 100"),
    ("match=(", "match: match: missing closing parenthesis at offset 1"),
    ("seconds=0", "seconds must be 1 to 300, not 0"),
    ("seconds=2&format=html", "seconds= goes with an export format "
                              "(pprof, collapsed, callgrind, dot, svg)"),
    ("view=tree&format=pprof", "format pprof exports the whole profile and "
                               "takes no view"),
    ("view=tree&explain=/x", "explain= goes with view=explain"),
    ("action=clear", "unknown parameter 'action'"),
    ("sort=bogus", "sort: unknown sort key 'bogus'; one of: self, cumulative, "
                   "name, file, tottime, cumtime"),
    ("limit=-1", "limit must be 0 to 1000000, not -1"),
    ("limit=abc", "limit must be a whole number, not 'abc'"),
    ("strip=maybe", "strip must be 1 or 0, not 'maybe'"),
    ("uri=nope", "uri: a request path must start with '/'"),
    ("explain=/x&format=dot", "explain is answered as html, text or json"),
    ("explain=relative", "explain: a request path must start with '/'"),
    ("explain=%zz", "bad percent-encoding in the value of 'explain'"),
    ("explain=/a%00b", "bad percent-encoding in the value of 'explain'"),
    ("%41%zz=1", "bad percent-encoding in a parameter name '%41%zz'"),
    ("explain=/" + "a" * 5000, "explain is longer than 4096 bytes"),
    ("x" * 200 + "=1", "unknown parameter '" + "x" * 40 + "...'"),
]


def assert_safe_headers(r):
    headers = r if isinstance(r, dict) else r.headers
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_status_page(httpd, mpm):
    srv = httpd(mpm=mpm, conf=PAGE)
    r = srv.get("/reqprof?format=text")
    assert r.status_code == 200
    assert_safe_headers(r)
    assert r.text.startswith("mod_reqprof ")
    assert "ReqProfInclude\n  #1   ^/spin" in r.text


def test_explain_answers(httpd, mpm):
    srv = httpd(mpm=mpm, conf=PAGE)
    r = srv.get("/reqprof?explain=/spin%3Fx%3D1&format=text")
    assert r.status_code == 200
    assert_safe_headers(r)
    # A query in the explained path is not part of what is matched.
    assert "path             /spin?x=1\n" in r.text
    assert "as matched       /spin\n" in r.text
    assert "decision         profiled" in r.text


@pytest.mark.parametrize("query,reason", BAD_QUERIES,
                         ids=[q[0][:30] for q in BAD_QUERIES])
def test_bad_query_is_400_with_one_line(httpd, mpm, query, reason):
    srv = httpd(mpm=mpm, conf=PAGE)
    status, headers, body = srv.fetch("/reqprof?" + query)
    assert status == 400, body
    assert_safe_headers(headers)
    assert body.decode() == reason + "\n"


def test_only_get_head_post(httpd, mpm):
    srv = httpd(mpm=mpm, conf=PAGE)
    r = srv.session.put(srv.url("/reqprof"), data="x")
    assert r.status_code == 405
    assert "POST" in r.headers.get("Allow", "")
    assert srv.session.head(srv.url("/reqprof")).status_code == 200


def test_strings_are_escaped(httpd, mpm):
    """Control bytes and invalid UTF-8 from the request never reach the
    page raw: the text stays one valid UTF-8 line per field."""
    srv = httpd(mpm=mpm, conf=PAGE)
    status, _, raw = srv.fetch("/reqprof?explain=/%1b%5b31m%0aforged%20line"
                               "%ff%5Cx&format=text")
    assert status == 200
    assert b"\x1b" not in raw and b"\xff" not in raw
    text = raw.decode("utf-8")
    assert "path             /\\x1B[31m\\x0Aforged line\\xFF\\\\x\n" in text
    assert "\nforged" not in text


def test_require_local_protects(httpd, mpm):
    """The shipped protection works: a non-local client is refused. The
    test client is local, so deny it explicitly the same way."""
    srv = httpd(mpm=mpm, conf="""
<Location /reqprof>
    SetHandler reqprof
    Require ip 192.0.2.1
</Location>
""", expected_log=[r"AH01630: client denied"])
    assert srv.get("/reqprof").status_code == 403
