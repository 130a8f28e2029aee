"""Python functions in the native stacks (mod_wsgi embedded, CPython 3.11,
on event and worker): the application tests/apps/wsgi/app.py does work
of known shape, chosen by its query, and the profile must show it by
Python function, file and line, with the native frames above and below,
under both timers."""

import os
import re

import pytest

from httpd_env import (APPS, function_row, merge_failures, profiling_conf,
                       wsgi_conf)

APP = "/py"
FILE = re.compile(r"/tests/apps/wsgi/app\.py$")


def first_line(name):
    """The line of app.py's def of NAME (co_firstlineno)."""
    with open(os.path.join(APPS, "wsgi", "app.py")) as f:
        for n, line in enumerate(f, 1):
            if line.startswith("def %s(" % name):
                return n
    raise KeyError(name)


EVAL = "_PyEval_EvalFrameDefault"


def func(prof, name, obj="python"):
    return function_row(prof, name, obj)


@pytest.fixture(params=("event", "worker"))
def threaded(request):
    return request.param


@pytest.fixture(params=("cpu", "real"))
def timer(request):
    return request.param


def test_split_by_python_function(httpd, threaded, timer):
    srv = httpd(mpm=threaded, conf=profiling_conf(timer, 1000) + wsgi_conf())
    assert srv.ab(APP + "?a=30&b=10", 30, 2)[1] == 0
    prof = srv.profile()
    a, b = func(prof, "work_a"), func(prof, "work_b")
    assert a and b, [f["name"] for f in prof["functions"][:30]]
    # The known split, 3:1 within 10 %, in time (a real-time sample's
    # weight is the wall time it stands for).
    assert 2.7 <= a["cum_ms"] / b["cum_ms"] <= 3.3, (a, b)
    assert FILE.search(a["file"]) and a["line"] == first_line("work_a"), a
    assert func(prof, "burn")["line"] == first_line("burn")
    for s in prof["stacks"]:
        fr = s["frames"]
        if "work_a" in fr:
            assert EVAL not in fr, fr
            assert fr.index("application") < fr.index("work_a"), fr
            assert "burn" not in fr or fr.index("work_a") < fr.index(
                "burn"), fr
            # httpd's worker thread is the stack's outer part.
            assert "start_thread" in fr[:fr.index("application")], fr
    bad, total = merge_failures(prof["counters"])
    assert total > 0 and bad <= 0.01 * total, prof["counters"]


def test_method_generator_recursion_c_call(httpd, threaded):
    srv = httpd(mpm=threaded, conf=profiling_conf("cpu", 1000)
                + wsgi_conf())
    assert srv.ab(APP + "?method=20&gen=20&deep=20&zlib=3", 20, 2)[1] == 0
    prof = srv.profile()
    for name in ("Shop.total", "numbers", "deep", "pack"):
        assert func(prof, name), (name, prof["functions"][:30])
    stacks = [s["frames"] for s in prof["stacks"]]
    assert max(fr.count("deep") for fr in stacks) == 30
    assert func(prof, "deep")["cum"] <= prof["counters"]["samples"]
    # A generator runs in a C-level call of its own, below the frame
    # that iterates it.
    for fr in stacks:
        if "numbers" in fr:
            assert fr.index("application") < fr.index("numbers"), fr
    # zlib's C code stays under the Python function that called it.
    under = [fr for fr in stacks if "deflate" in fr]
    assert under and all("pack" in fr[:fr.index("deflate")]
                         for fr in under), under[:3]
    bad, total = merge_failures(prof["counters"])
    assert bad <= 0.01 * total, prof["counters"]


def test_an_application_thread_is_not_profiled(httpd):
    srv = httpd(mpm="event", conf=profiling_conf("cpu", 1000) + wsgi_conf())
    assert srv.ab(APP + "?thread=200&a=4", 5, 1)[1] == 0
    prof = srv.profile()
    assert func(prof, "work_a"), prof["functions"][:20]
    # The thread the application started burnt 200 ms a request: none of
    # it is a request's.
    assert func(prof, "background") is None


def test_sleep_under_its_python_caller(httpd, timer):
    srv = httpd(mpm="worker", conf=profiling_conf(timer, 500) + wsgi_conf())
    assert srv.ab(APP + "?sleep=100", 10, 1)[1] == 0
    prof = srv.profile()
    pause = func(prof, "pause")
    if timer == "cpu":
        assert pause is None or pause["cum_ms"] <= 50, pause
        return
    assert 90 <= pause["cum_ms"] / 10 <= 110, pause
    fr = max((s for s in prof["stacks"] if "pause" in s["frames"]),
             key=lambda s: s["samples"])["frames"]
    assert fr[-1] in ("clock_nanosleep", "[blocked]", "[off CPU]"), fr
    assert fr.index("application") < fr.index("pause"), fr


@pytest.mark.parametrize("group", ("", "WSGIApplicationGroup %{GLOBAL}\n"))
def test_main_and_sub_interpreters(httpd, group):
    srv = httpd(mpm="event", conf=profiling_conf("cpu", 1000)
                + wsgi_conf(group))
    assert srv.ab(APP + "?a=12&b=4", 10, 2)[1] == 0
    prof = srv.profile()
    assert func(prof, "work_a") and func(prof, "work_b")


def test_exception_and_error(httpd):
    srv = httpd(mpm="event", conf=profiling_conf("cpu", 1000) + wsgi_conf(),
                expected_log=(r"\[wsgi:error\]",))
    assert srv.ab(APP + "?throw=1&gen=10", 10, 1)[1] == 0
    assert srv.get(APP + "?error=1&a=2").status_code == 500
    prof = srv.profile()
    assert func(prof, "numbers")
    bad, total = merge_failures(prof["counters"])
    assert bad <= 0.01 * total, prof["counters"]


def test_interpreters_off(httpd):
    srv = httpd(mpm="event", conf=profiling_conf("cpu", 1000)
                + "ReqProfInterpreters Off\n" + wsgi_conf())
    assert srv.ab(APP + "?a=6&b=2", 5, 1)[1] == 0
    prof = srv.profile()
    assert not any(f["object"] == "python" for f in prof["functions"])
    assert any(f["name"] == EVAL for f in prof["functions"])


def test_php_and_python_in_one_server(httpd):
    # Both interpreters walked in one child (prefork: mod_php's build is
    # not thread-safe): each request shows its own language.
    from httpd_env import php_conf
    srv = httpd(mpm="prefork", conf=profiling_conf("cpu", 1000)
                + wsgi_conf() + php_conf())
    assert srv.ab(APP + "?a=12", 5, 1)[1] == 0
    assert srv.ab("/php/work.php?a=12", 5, 1)[1] == 0
    prof = srv.profile()
    assert func(prof, "work_a", "python") and func(prof, "work_a", "php")
    bad, total = merge_failures(prof["counters"])
    assert bad <= 0.01 * total, prof["counters"]


def test_now_shows_python_functions(httpd):
    srv = httpd(mpm="event", conf=profiling_conf("cpu", 499) + wsgi_conf())
    by, status = srv.now_while([APP + "?sleep=2500", APP + "?a=1500"],
                               "pause", "work_a")
    blocked, running = by["blocked"], by["running"]
    fb = [f["function"] for f in blocked["stack"]]
    assert fb.index("pause") < fb.index("application"), fb
    pause = blocked["stack"][fb.index("pause")]
    assert pause["object"] == "python" and FILE.search(pause["file"])
    fr = [f["function"] for f in running["stack"]]
    assert "work_a" in fr and EVAL not in fr, fr
    assert status == [200, 200]


def test_a_replaced_fault_handler_stops_the_walk(httpd):
    # The application enables faulthandler: its SIGSEGV handler replaces
    # the one that guards the walk.  Within a second the child notices,
    # says so once, and walks no more (a torn read would now crash it);
    # requests and profiling go on, native.
    import time
    one_child = ("StartServers 1\nServerLimit 1\nThreadsPerChild 8\n"
                 "MaxRequestWorkers 8\nMinSpareThreads 1\n"
                 "MaxSpareThreads 8\n")
    srv = httpd(mpm="event", conf=one_child + profiling_conf("cpu", 1000)
                + wsgi_conf())
    assert srv.get(APP + "?a=4").status_code == 200
    assert srv.get(APP + "?faulthandler=1").status_code == 200
    time.sleep(1.2)
    assert srv.get(APP + "?a=1").status_code == 200
    before = srv.profile()["counters"]
    assert srv.ab(APP + "?a=40", 5, 1)[1] == 0
    after = srv.profile()["counters"]
    assert after["samples"] > before["samples"] + 20, (before, after)
    assert after["script_merged"] == before["script_merged"], (before, after)
    log = srv.new_log()
    assert log.count("script functions are no longer shown in this "
                     "child") == 1, log[-2000:]
