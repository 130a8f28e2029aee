"""What the workers are doing now: view=now and ReqProfSlowLog.

view=now lists every profiled-path request in flight in every child, with
its thread's state (running, or blocked in which system call) and its
stack: unwound without a signal when blocked, its newest CPU sample when
running.  The text and json forms say the same.  ReqProfSlowLog SECONDS
dumps the stack of a request running longer than SECONDS, then again each
further SECONDS while it runs (5 times at most), to the error log or to a
FILE; profiling paused, it still does.
"""

import json
import os
import re
import threading
import time

import pytest
import requests

from httpd_env import profiling_conf

# The slow log's lines in the error log: a header and one per frame.
SLOW_LOG = (r"reqprof\(1403\)", r"reqprof\(1404\)")
HEADER = re.compile(r"slow request: (\S+ \S+) pid (\d+) tid (\d+) id (\S+) "
                    r"(\S+) (\S+) elapsed ([0-9.]+) s, ([^,]+(?:\([^)]*\))?)"
                    r", (\d+) frames$")


def in_background(srv, paths):
    """Start a GET of each path on a thread of its own; returns the
    threads and a list their responses are appended to."""
    got = []

    def run(p):
        got.append((p, requests.get(srv.url(p), timeout=60)))

    ts = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in ts:
        t.start()
    return ts, got


def finish(ts, got, n):
    for t in ts:
        t.join(60)
    assert len(got) == n
    for p, r in got:
        assert r.status_code == 200, (p, r.status_code)


def now(srv, fmt="json"):
    r = srv.get("/reqprof", params={"view": "now", "format": fmt})
    assert r.status_code == 200, r.text[:300]
    assert "charset=" in r.headers["Content-Type"]
    assert r.headers.get("Cache-Control", "").find("no-store") >= 0
    return json.loads(r.text) if fmt == "json" else r.text


def wait_now(srv, want, deadline=10):
    """view=now's json once WANT(json) holds (the watcher looks at a
    request from 200 ms on, every 200 ms)."""
    end = time.time() + deadline
    while True:
        j = now(srv)
        if want(j) or time.time() > end:
            return j
        time.sleep(0.1)


def functions(req):
    return [f["function"] for f in req["stack"]]


@pytest.mark.parametrize("timer", ["cpu", "real"])
def test_now_blocked_and_running(httpd, mpm, timer):
    if timer == "real" and mpm != "event":
        pytest.skip("the real timer's view is checked on event")
    srv = httpd(profiling_conf(timer=timer, hz=499), mpm=mpm)
    ts, got = in_background(srv, ["/poll?ms=2500", "/spin?a=2500"])
    try:
        def both(j):
            by = {q["uri"]: q for q in j["requests"]}
            return ("/poll" in by and "/spin" in by
                    and by["/poll"]["state"] == "blocked"
                    and by["/spin"]["state"] == "running"
                    and by["/spin"]["stack"] and by["/poll"]["stack"])

        j = wait_now(srv, both)
        assert j["view"] == "now"
        by = {q["uri"]: q for q in j["requests"]}
        assert set(by) == {"/poll", "/spin"}, j
        poll, spin = by["/poll"], by["/spin"]
        assert poll["state"] == "blocked" and poll["syscall"] == "poll", poll
        assert "fixture_poll" in functions(poll), functions(poll)
        assert spin["state"] == "running" and spin["syscall"] is None, spin
        assert "fixture_spin_a" in functions(spin), functions(spin)
        for q in (poll, spin):
            assert q["method"] == "GET" and q["host"]
            assert 200 <= q["elapsed_ms"] < 2600, q
            assert q["pid"] > 0 and q["tid"] > 0 and q["id"]
            assert q["look_ms"] >= 0
        assert spin["sample_ms"] >= 0
        # One request per thread; prefork: one per child.
        assert poll["tid"] != spin["tid"]
        if mpm == "prefork":
            assert poll["pid"] != spin["pid"] and j["children"] == 2
        # The text form says the same of the same requests.
        text = now(srv, "text")
        for q in (poll, spin):
            assert ("pid %d tid %d GET %s host" % (q["pid"], q["tid"],
                                                   q["uri"])) in text, text
        assert "blocked in poll" in text and "running" in text
        assert re.search(r"#\d+ +fixture_poll", text), text
        assert re.search(r"#\d+ +fixture_spin_a", text), text
        html = srv.get("/reqprof", params={"view": "now"})
        assert html.status_code == 200
        assert html.text.count('class="now-req"') == 2
        assert "fixture_poll" in html.text and 'id="nav-now"' in html.text
    finally:
        finish(ts, got, 2)
    # Over: none left.
    j = wait_now(srv, lambda j: not j["requests"])
    assert j["requests"] == [] and j["children"] == 0
    assert "none" in now(srv, "text")


def test_now_bad_parameters(httpd):
    srv = httpd(profiling_conf())
    r = srv.get("/reqprof", params={"view": "now", "req": "x"})
    assert r.status_code == 400 and "no req=" in r.text
    r = srv.get("/reqprof", params={"view": "now", "format": "pprof"})
    assert r.status_code == 400


def test_now_client_only_with_extended_status(httpd):
    """The client shows where mod_status would show it: ExtendedStatus
    On (mod_status loaded turns it on by default)."""
    conf = profiling_conf() + "LoadModule status_module " \
        "/usr/lib/apache2/modules/mod_status.so\nExtendedStatus %s\n"
    for ext, want in (("On", "127.0.0.1"), ("Off", None)):
        srv = httpd(conf % ext)
        ts, got = in_background(srv, ["/poll?ms=1200"])
        try:
            j = wait_now(srv, lambda j: j["requests"])
            assert j["requests"][0]["client"] == want, j
        finally:
            finish(ts, got, 1)
        srv.stop()


def slow_blocks(text):
    """The slow log's dumps in TEXT (error-log lines or a FILE), as
    (header match, [frame texts]); every frame line must follow its own
    request's header."""
    blocks = []
    for line in text.splitlines():
        h = HEADER.search(line)
        if h:
            blocks.append((h, []))
            continue
        m = re.search(r"slow request (\S+):   #(\d+) (.*)$", line) \
            or re.search(r"^()  #(\d+) (.*)$", line)
        if m:
            assert blocks, line
            h0, frames = blocks[-1]
            if m.group(1):
                assert m.group(1) == h0.group(4), line
            assert int(m.group(2)) == len(frames), line
            frames.append(m.group(3))
    for h, frames in blocks:
        assert len(frames) == int(h.group(9)), (h.group(0), frames)
    return blocks


def test_slow_log_error_log(httpd, mpm):
    srv = httpd(profiling_conf(extra="ReqProfSlowLog 1\n"), mpm=mpm,
                expected_log=SLOW_LOG)
    r = srv.get("/poll?ms=3500")
    assert r.status_code == 200
    r = srv.get("/sleep?ms=500")
    assert r.status_code == 200
    time.sleep(0.5)
    blocks = slow_blocks(srv.new_log())
    assert len(blocks) == 3, [b[0].group(0) for b in blocks]
    for k, (h, frames) in enumerate(blocks):
        assert h.group(5) == "GET" and h.group(6) == "/poll"
        elapsed = float(h.group(7))
        assert k + 1 <= elapsed < k + 1.5, h.group(0)
        assert h.group(8) == "blocked in poll", h.group(0)
        assert any(f.startswith("fixture_poll ") for f in frames), frames
    assert "/sleep" not in srv.new_log()


def test_slow_log_file_many_at_once(httpd):
    """20 slow requests at once, to a FILE: each dump one block, whole,
    and nothing in the error log.  Ten wait 1.6 s (one dump each); ten
    spin 300 ms of CPU each, on two cores shared by twenty (however many
    dumps their wall time makes).  The event MPM may say it runs short of
    spare threads (AH10159)."""
    srv = httpd(profiling_conf(extra="ReqProfSlowLog 1 logs/slow.log\n"),
                expected_log=(r"AH10159",))
    path = os.path.join(srv.root, "logs", "slow.log")
    # The server's files stay from run to run: this run's part.
    start = os.path.getsize(path)
    paths = ["/poll?ms=1600"] * 10 + ["/spin?a=300"] * 10
    ts, got = in_background(srv, paths)
    finish(ts, got, 20)
    time.sleep(0.5)
    with open(path) as f:
        f.seek(start)
        text = f.read()
    blocks = slow_blocks(text)
    polls = [b for b in blocks if b[0].group(6) == "/poll"]
    assert len(polls) == 10, len(polls)
    assert len({b[0].group(4) for b in polls}) == 10
    for h, frames in blocks:
        want = "fixture_poll " if h.group(6) == "/poll" else "fixture_spin"
        if h.group(6) == "/spin" and not frames:
            continue            # a spinner not sampled yet: said so
        assert any(f.startswith(want) for f in frames), (h.group(0), frames)
    # Every line of the file is a header or a frame.
    for line in text.splitlines():
        assert HEADER.search(line) or re.match(r"  #\d+ ", line), line
    assert "slow request" not in srv.new_log()


def test_slow_log_while_paused(httpd):
    srv = httpd(profiling_conf(extra="ReqProfSlowLog 1\n"),
                expected_log=SLOW_LOG)
    assert srv.control("pause").status_code == 303
    assert srv.get("/poll?ms=1400").status_code == 200
    # A spinner's stack comes from its thread's next CPU tick, asked for
    # by the watcher (no sample is taken while paused).
    assert srv.get("/spin?a=1400").status_code == 200
    time.sleep(0.5)
    blocks = slow_blocks(srv.new_log())
    assert [b[0].group(6) for b in blocks] == ["/poll", "/spin"], blocks
    assert any(f.startswith("fixture_poll ") for f in blocks[0][1])
    assert blocks[1][0].group(8).startswith("running"), blocks[1][0].group(0)
    assert any(f.startswith("fixture_spin_a ") for f in blocks[1][1]), \
        blocks[1][1]
    # Nothing was profiled meanwhile.
    assert not [u for u in srv.profile(view="requests")["kept"]
                if u["uri"] == "/poll"]


def test_slow_log_off_by_default(httpd):
    srv = httpd(profiling_conf())
    assert srv.get("/poll?ms=1300").status_code == 200
    time.sleep(0.4)
    assert "slow request" not in srv.new_log()
