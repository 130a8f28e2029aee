"""Sampling on a real httpd: samples land in the functions that did the
work, in the request that did it, on the chosen clock; on every MPM."""

import re
import subprocess

from httpd_env import profiling_conf as conf


def func(prof, name):
    for f in prof["functions"]:
        if f["name"] == name:
            return f
    return {"self": 0, "cum": 0, "self_ms": 0.0, "cum_ms": 0.0}




def test_cpu_samples_split_as_the_work(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 250))
    assert srv.ab("/spin?a=200&b=100", 40, 2)[1] == 0
    prof = srv.profile()
    a, b = func(prof, "fixture_spin_a"), func(prof, "fixture_spin_b")
    assert b["self"] > 50, prof["functions"][:5]
    ratio = a["self"] / b["self"]
    assert 1.7 <= ratio <= 2.3, (ratio, a, b)
    # Every stack through the spinners runs below the fixture's handler
    # and shows none of the profiler's own frames.
    for s in prof["stacks"]:
        frames = s["frames"]
        assert not any(f in ("rp_sampler_signal", "__restore_rt")
                       for f in frames), frames
        if frames[-1] in ("fixture_spin_a", "fixture_spin_b"):
            assert frames[0] == "/spin", frames
            assert "fixture_handler" in frames, frames
            assert frames.index("fixture_handler") < len(frames) - 1
    c = prof["counters"]
    assert c["ticks"] == (c["samples"] + c["buffer_full"]
                          + c["unwind_failed"] + c["other_dropped"]), c
    assert c["requests"] >= 40


def test_real_timer_measures_blocked_time(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("real", 200))
    assert srv.ab("/sleep?ms=100", 20, 2)[1] == 0
    prof = srv.profile()
    sleep = func(prof, "fixture_sleep")
    per_request = sleep["cum_ms"] / 20
    assert 80 <= per_request <= 120, (per_request, prof["functions"][:5])
    # Below the sleeping call: the innermost frames are libc's.
    deep = [s for s in prof["stacks"] if "fixture_sleep" in s["frames"]]
    assert deep and all(s["frames"][-1] != "fixture_sleep" for s in deep
                        if s["samples"] > 5)


def test_cpu_timer_ignores_blocked_time(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 200))
    assert srv.ab("/sleep?ms=100", 20, 2)[1] == 0
    prof = srv.profile()
    assert func(prof, "fixture_sleep")["cum_ms"] <= 0.05 * 100 * 20


def test_attribution_under_concurrency(httpd):
    srv = httpd(mpm="event", conf=conf("cpu", 250))
    procs = [subprocess.Popen(["ab", "-q", "-n", "60", "-c", "4",
                               srv.url(path)], stdout=subprocess.DEVNULL)
             for path in ("/ua/spin?a=30", "/ub/spin?b=30")]
    for p in procs:
        assert p.wait() == 0
    a = srv.profile(uri="/ua/spin")
    b = srv.profile(uri="/ub/spin")
    assert func(a, "fixture_spin_a")["self"] > 20
    assert func(a, "fixture_spin_b")["self"] == 0
    assert func(b, "fixture_spin_b")["self"] > 20
    assert func(b, "fixture_spin_a")["self"] == 0


def test_short_requests_are_sampled(httpd):
    srv = httpd(mpm="event", conf=conf("real", 1000))
    assert srv.ab("/tiny.txt", 5000, 4)[1] == 0
    prof = srv.profile()
    assert prof["counters"]["samples"] > 0
    assert prof["settings"]["delivered_hz"] > 0
    text = srv.get("/reqprof?format=text").text
    assert re.search(r"Hz asked, [\d.]+ Hz delivered", text)


def test_hostile_uris_stay_escaped_in_every_format(httpd):
    """URIs are request-controlled: markup and invalid UTF-8 come out
    escaped, the JSON stays valid UTF-8 JSON."""
    import json
    srv = httpd(mpm="event", conf=conf("real", 1000))
    for path in (b"/%3Cscript%3Ealert(1)%3C/script%3E", b"/bad%FF%FE/x",
                 b"/ctl%1B%5B31m"):
        srv.raw(b"GET " + path + b" HTTP/1.0\r\n\r\n")
    status, headers, body = srv.fetch("/reqprof?format=json&limit=0")
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    text = body.decode("utf-8")
    assert "<" not in text and "\x1b" not in text
    prof = json.loads(text)
    uris = {u["uri"] for u in prof["uris"]}
    assert "/<script>alert(1)</script>" in uris, uris
    assert "/bad\\xFF\\xFE/x" in uris, uris
    assert "/ctl\\x1B[31m" in uris, uris
    status, _, body = srv.fetch("/reqprof")
    assert b"\x1b" not in body and b"\xff" not in body
