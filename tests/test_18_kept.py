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


# ------------------------------------------------- kept requests, end to end

KEEP = "ReqProfKeep recent 8 slowest 5 errors 4\n"


def kept_list(srv):
    return srv.profile(view="requests")["kept"]


def request_page(srv, rid):
    return srv.profile(view="request", id=rid)


def func_samples(prof, name):
    return sum(f["self"] for f in prof["functions"] if f["name"] == name)


def test_one_in_fifty_slow(httpd, mpm):
    """1 request in 50 to one URI runs an extra named function: the slowest
    kept of that URI are exactly those; each one's own profile shows the
    function, a typical one's does not, the comparison marks it as more
    than typical; the ids the access log gave open the same requests."""
    srv = httpd(mpm=mpm, conf=profiling_conf("cpu", 1000, extra=KEEP) + LOG)
    slow_n = []
    for i in range(250):
        if i % 50 == 25:
            slow_n.append(i)
            path = "/x/spin?a=2&b=40&n=%d" % i
        else:
            path = "/x/spin?a=2&n=%d" % i
        assert srv.get(path).status_code == 200
    rows = id_log(srv, 250)
    log_ids = {r[0].split()[1].split("n=")[1]: r[2] for r in rows}
    slow_ids = {log_ids[str(i)] for i in slow_n}

    kept = [k for k in kept_list(srv) if k["uri"] == "/x/spin"]
    by_wall = sorted(kept, key=lambda k: -k["wall_us"])
    assert {k["id"] for k in by_wall[:5]} == slow_ids, by_wall[:7]
    assert all("b=40" in k["query"] for k in by_wall[:5])
    assert all("slow" in k["reasons"] for k in by_wall[:5])
    # Every slow one was kept, and is the request its log line names.
    for k in by_wall[:5]:
        n = k["query"].split("n=")[1]
        assert log_ids[n] == k["id"], (k, n)

    for rid in slow_ids:
        prof = request_page(srv, rid)
        assert prof["request"]["id"] == rid
        assert func_samples(prof, "fixture_spin_b") > 0, rid
        more = [f for f in prof["diff"]["frames"] if f["more"]]
        assert any(f["name"] == "fixture_spin_b" for f in more), more
    typical = [k for k in kept if k["id"] not in slow_ids]
    assert typical, kept
    for k in typical[:3]:
        prof = request_page(srv, k["id"])
        assert func_samples(prof, "fixture_spin_b") == 0, k


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_timeline_accounts_for_wall_time(httpd, mpm):
    """Under the real timer a kept request's spans lie within its wall time
    and, on the CPU and blocked together, account for it."""
    srv = httpd(mpm=mpm, conf=profiling_conf("real", 997, extra=KEEP))
    for path in ("/x/sleep?ms=60", "/x/spin?a=40", "/x/sleep?ms=30"):
        assert srv.get(path).status_code == 200
    kept = {k["uri"] + "?" + k["query"]: k for k in kept_list(srv)}
    for key, blocked_share in (("/x/sleep?ms=60", 0.8),
                               ("/x/spin?a=40", 0.0),
                               ("/x/sleep?ms=30", 0.8)):
        k = kept[key]
        prof = request_page(srv, k["id"])
        spans = prof["timeline"]["spans"]
        assert spans, key
        wall_us = k["wall_us"]
        for s in spans:
            assert 0 <= s["start_us"] <= s["end_us"], s
            # Sample times are taken from the sampler's start, a few µs
            # before the request's clock starts.
            assert s["end_us"] <= wall_us + 1000, (s, wall_us)
        total_ms = sum(s["ms"] for s in spans)
        assert 0.85 * wall_us / 1000 <= total_ms <= 1.15 * wall_us / 1000, \
            (key, total_ms, wall_us)
        blocked_ms = sum(s["ms"] for s in spans if s["blocked"])
        assert blocked_ms >= blocked_share * total_ms, (key, blocked_ms,
                                                         total_ms)
        if blocked_share == 0.0:
            assert blocked_ms <= 0.2 * total_ms, (key, blocked_ms, total_ms)
        # In time order.
        ends = [s["end_us"] for s in spans]
        assert ends == sorted(ends), ends


def test_kept_survive_child_recycling(httpd):
    """A child that exits after a few connections leaves its kept requests
    to the next owner of its slot: still listed and opened."""
    srv = httpd(mpm="prefork", conf=profiling_conf("cpu", 1000, extra=KEEP)
                + "MaxConnectionsPerChild 3\n")
    ids = []
    for i in range(12):
        r = srv.get("/x/spin?a=1&i=%d" % i, headers={"Connection": "close"})
        assert r.status_code == 200
    srv.session.close()
    kept = kept_list(srv)
    assert len(kept) >= 8, kept
    for k in kept[:8]:
        prof = request_page(srv, k["id"])
        assert prof["request"]["id"] == k["id"]
        ids.append(k["id"])
    assert len(set(ids)) == len(ids)
