"""Profiling must not break the server: no request fails or changes under
either clock at 1000 Hz (with mod_reqtimeout, chunked uploads and a slow
proxied backend); collected data survives child recycling, graceful
restarts and a crashed child; a full store keeps serving and accounting."""

import os
import signal
import threading
import time

import pytest

from httpd_env import profiling_conf



def conf(timer="cpu", hz=1000, extra=""):
    return profiling_conf(timer, hz, extra)




def slow_chunked_upload(srv, chunks=6, gap=0.004):
    """A chunked body sent in pieces with pauses, so the server's thread
    blocks reading it (the case where a signal would cause EINTR)."""
    import socket
    body = b"".join(b"%x\r\n%s\r\n" % (1000, bytes([65 + i]) * 1000)
                    for i in range(chunks))
    with socket.create_connection(("127.0.0.1", srv.port), 10) as s:
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for i in range(chunks):
            s.sendall(b"%x\r\n%s\r\n" % (1000, bytes([65 + i]) * 1000))
            time.sleep(gap)
        s.sendall(b"0\r\n\r\n")
        answer = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            answer += b
    assert len(body) > 0
    return answer


@pytest.mark.parametrize("timer", ["cpu", "real"])
def test_no_request_fails_at_1000hz(httpd, mpm, timer):
    srv = httpd(mpm=mpm, start=False, modules=("reqtimeout", "proxy",
                                               "proxy_http"))
    srv.set_conf(conf(timer, 1000, """
RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500
# No reuse of backend connections: with reuse, this self-proxy fails a few
# requests (AH01102) with or without mod_reqprof loaded (seen here: 2-5 in
# 200), a pooled connection closed by the backend; not what is tested.
ProxyPass "/slow" "http://127.0.0.1:%d/sleep" disablereuse=On
""" % srv.port))
    srv.start()
    bad = []

    def uploads(n):
        for _ in range(n):
            a = slow_chunked_upload(srv)
            if b" 200 OK" not in a.split(b"\r\n")[0] \
                    or b"upload bytes=6000 " not in a:
                bad.append(a[:200])

    threads = [threading.Thread(target=uploads, args=(50,))
               for _ in range(4)]
    for t in threads:
        t.start()
    done, failed = srv.ab("/slow?ms=20", 200, 4)
    for t in threads:
        t.join()
    assert not bad, bad[:3]
    assert (done, failed) == (200, 0)
    prof = srv.profile()
    assert prof["counters"]["requests"] >= 200


def test_data_survives_recycling_and_graceful(httpd, mpm):
    # Children exiting after 20 connections can fill the event MPM's small
    # test scoreboard for a moment: httpd says so (AH03490) and copes.
    srv = httpd(mpm=mpm, conf=conf("cpu", 250,
                                   "MaxConnectionsPerChild 20\n"),
                expected_log=[r"AH03490: scoreboard is full"])
    done, failed = srv.ab("/spin?a=2", 300, 4)
    assert (done, failed) == (300, 0)
    before = srv.profile()["counters"]["requests"]
    assert before == 300

    result = {}

    def load():
        result["ab"] = srv.ab("/spin?a=2", 300, 4)

    t = threading.Thread(target=load)
    t.start()
    time.sleep(0.3)
    srv.graceful()
    t.join()
    assert result["ab"] == (300, 0)
    # Let the old generation finish and the new one take over.
    time.sleep(1.0)
    after = srv.profile()["counters"]["requests"]
    assert after == 600, after


def test_crashed_child_loses_only_its_request(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 250),
                expected_log=[r"exit signal Segmentation fault",
                              r"AH00052", r"AH00051"])
    assert srv.ab("/spin?a=2", 100, 4) == (100, 0)
    result = {}

    def load():
        result["ab"] = srv.ab("/spin?a=20", 60, 4)

    t = threading.Thread(target=load)
    t.start()
    time.sleep(0.4)
    victim = srv.child_pids()[0]
    os.kill(victim, signal.SIGSEGV)
    t.join()
    done, failed = result["ab"]
    prof = srv.profile()
    stored = prof["counters"]["requests"]
    ok = done - failed
    # Everything that completed was stored, save what the dead child had
    # in flight (its threads' requests); nothing before the crash is lost.
    in_flight = 4
    assert stored >= 100 + ok - in_flight, (stored, done, failed)
    c = prof["counters"]
    assert c["ticks"] == (c["samples"] + c["buffer_full"]
                          + c["unwind_failed"] + c["other_dropped"]), c


def test_full_store_keeps_serving_and_counting(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 1000, "ReqProfMemory 64K\n"
                                   "ReqProfMaxDepth 512\n"))
    for depth in range(1, 400, 3):
        r = srv.get("/recurse", params={"depth": depth, "ms": 3})
        assert r.status_code == 200
    for i in range(120):
        r = srv.get("/u%d/spin?a=1" % i)
        assert r.status_code == 200
    prof = srv.profile()
    c = prof["counters"]
    assert c["table_full"] > 0 or c["uri_full"] > 0, c
    assert c["ticks"] == (c["samples"] + c["buffer_full"]
                          + c["unwind_failed"] + c["other_dropped"]), c
    names = {f["name"] for f in prof["functions"]}
    assert "[table full]" in names, sorted(names)[:20]
    assert srv.get("/reqprof").status_code == 200
