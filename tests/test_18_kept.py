"""Per-request ids and Server-Timing: the request path of kept requests.

Every profiled request gets an id at its start: the request note
reqprof-id, which `LogFormat ... %{reqprof-id}n` writes to the access log;
with mod_unique_id loaded it is UNIQUE_ID.  Requests that are not
profiled have none.  ReqProfServerTiming (per server, virtual host and
directory; default Off) puts a standard Server-Timing header on profiled
responses, errors included, with the request's wall and CPU time so far
and its id; nowhere else.  Responses are otherwise unchanged.
"""

import os
import re
import time

import pytest

from httpd_env import profiling_conf

# A log of its own per server (tests/out keeps a server's files across
# runs).
IDS_LOG = "logs/ids_log.%d" % os.getpid()
LOG = 'LogFormat "%%r|%%>s|%%{reqprof-id}n|%%{UNIQUE_ID}e" ids\n' \
      'CustomLog "%s" ids\n' % IDS_LOG

# One metric: a token, then parameters ";name=value" (RFC 9110 tokens,
# quoted strings), as the Server-Timing spec's grammar.
TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
PARAM = r"\s*;\s*%s\s*=\s*(?:%s|\"(?:[^\"\\\\]|\\\\.)*\")" % (TOKEN, TOKEN)
METRIC = re.compile(r"^%s(?:%s)*$" % (TOKEN, PARAM))
ID = re.compile(r"^[A-Za-z0-9@_.:-]{1,47}$")


def id_log(srv, wait_for):
    """The ids log as (request line, status, id, UNIQUE_ID) rows, once it
    holds WAIT_FOR rows (httpd writes it as each request ends)."""
    path = os.path.join(srv.root, IDS_LOG)
    rows = []
    for _ in range(100):
        if os.path.exists(path):
            with open(path) as f:
                rows = [line.rstrip("\n").split("|") for line in f]
            if len(rows) >= wait_for:
                return rows
        time.sleep(0.05)
    raise AssertionError("ids_log has %d rows, not %d" % (len(rows),
                                                          wait_for))


def timing(headers):
    """The Server-Timing metrics of a response as {name: {param: value}},
    checking each one's form."""
    value = headers.get("Server-Timing")
    if value is None:
        return None
    out = {}
    for metric in value.split(","):
        metric = metric.strip()
        assert METRIC.match(metric), (metric, value)
        name, *params = [p.strip() for p in metric.split(";")]
        out[name] = dict(p.split("=", 1) for p in params)
    return out


def test_ids_in_access_log(httpd, mpm):
    srv = httpd(mpm=mpm, conf=profiling_conf(extra="ReqProfExclude ^/hello$\n")
                + LOG)
    paths = ["/spin?a=1", "/x/spin?a=1", "/hello", "/sleep?ms=1",
             "/nothing-here"]
    for p in paths:
        srv.get(p)
    rows = id_log(srv, len(paths))
    by_path = {r[0].split()[1]: r for r in rows}
    ids = []
    for p in paths:
        row = by_path[p]
        if p == "/hello":
            # Not profiled (excluded): no id.
            assert row[2] == "-", row
            continue
        assert ID.match(row[2]), row
        ids.append(row[2])
    # A 404 is profiled too (its path matched), and every id differs.
    assert by_path["/nothing-here"][1] == "404"
    assert len(set(ids)) == len(ids), ids


def test_unique_id_is_the_id(httpd, mpm):
    srv = httpd(mpm=mpm, conf=profiling_conf() + LOG, modules=("unique_id",))
    for i in range(5):
        srv.get("/spin?a=1&i=%d" % i)
    rows = id_log(srv, 5)
    for row in rows:
        assert row[3] not in ("", "-"), row
        assert row[2] == row[3], row


SERVER_TIMING = """
<Location /x>
    ReqProfServerTiming On
</Location>
<Location /x/sleep>
    ReqProfServerTiming Off
</Location>
"""


def test_server_timing_only_where_on(httpd, mpm):
    srv = httpd(mpm=mpm, conf=profiling_conf(
        extra="ReqProfExclude ^/x/hello$\n") + SERVER_TIMING + LOG)
    r = srv.get("/x/spin?a=20")
    assert r.status_code == 200
    t = timing(r.headers)
    assert t is not None, dict(r.headers)
    wall = float(t["reqprof-wall"]["dur"])
    cpu = float(t["reqprof-cpu"]["dur"])
    # 20 ms of CPU in the handler, before the headers went out.
    assert 15 <= cpu <= wall + 1, t
    assert wall < 5000, t
    rid = t["reqprof-id"]["desc"].strip('"')
    assert ID.match(rid), t
    rows = id_log(srv, 1)
    assert rows[0][2] == rid, (rows, rid)

    # Off by default, off where switched off, and absent on requests that
    # are not profiled.
    for path in ("/spin?a=1", "/x/sleep?ms=1", "/x/hello"):
        r = srv.get(path)
        assert r.status_code == 200, path
        assert "Server-Timing" not in r.headers, (path, dict(r.headers))


def test_server_timing_on_errors(httpd, mpm):
    srv = httpd(mpm=mpm, conf=profiling_conf() + SERVER_TIMING)
    r = srv.get("/x/fail?ms=5")
    assert r.status_code == 500
    t = timing(r.headers)
    assert t is not None and "reqprof-id" in t, dict(r.headers)
    r = srv.get("/x/no-such-thing")
    assert r.status_code == 404
    assert timing(r.headers) is not None, dict(r.headers)


@pytest.mark.parametrize("timer", ["cpu", "real"])
def test_responses_unchanged_but_the_header(httpd, timer):
    """With ids and Server-Timing on, bodies and other headers are those of
    the module not loaded."""
    on = httpd(conf=profiling_conf(timer=timer) + SERVER_TIMING + LOG)
    off = httpd(reqprof=False)
    for path in ("/x/spin?a=2", "/x/upload", "/x/hello",
                 "/x/recurse?depth=20&ms=1"):
        a, b = on.get(path), off.get(path)
        assert a.status_code == b.status_code, path
        assert a.content == b.content, path
        ha = {k.lower(): v for k, v in a.headers.items()
              if k.lower() not in ("date", "server-timing")}
        hb = {k.lower(): v for k, v in b.headers.items()
              if k.lower() != "date"}
        assert ha == hb, (path, ha, hb)
        assert "Server-Timing" in a.headers, path
