"""PHP functions in the native stacks (mod_php 8.2 on prefork): the page
tests/apps/php/work.php does work of known shape, chosen by its query,
and the profile must show it by PHP function, file and line, with the
native frames above and below, under both timers."""

import gzip
import os
import re

import pytest

from httpd_env import (APPS, function_row, merge_failures, php_conf,
                       profiling_conf)

PHP = "/php/work.php"
FILE = re.compile(r"/tests/apps/php/work\.php$")


def first_line(name):
    """The line PHP gives as function NAME's first in work.php."""
    with open(os.path.join(APPS, "php", "work.php")) as f:
        for n, line in enumerate(f, 1):
            if line.startswith("function %s(" % name):
                return n
    raise KeyError(name)


def func(prof, name, obj="php"):
    return function_row(prof, name, obj)


@pytest.fixture(params=("cpu", "real"))
def timer(request):
    return request.param


def test_split_by_php_function(httpd, timer):
    srv = httpd(mpm="prefork", conf=profiling_conf(timer, 1000) + php_conf())
    assert srv.ab(PHP + "?a=24&b=8", 30, 1)[1] == 0
    prof = srv.profile()
    a, b = func(prof, "work_a"), func(prof, "work_b")
    assert a and b, [f["name"] for f in prof["functions"][:30]]
    # The known split: 3:1, within 10 %, in time (a real-time sample's
    # weight is the wall time it stands for).
    assert 2.7 <= a["cum_ms"] / b["cum_ms"] <= 3.3, (a, b)
    # Named with their file and first line; PHP in the object column.
    assert FILE.search(a["file"]) and a["line"] == first_line("work_a"), a
    assert func(prof, "burn")["line"] == first_line("burn")
    # The interpreter's loop is gone from the stacks the script ran in,
    # and httpd's frames stay above the script.
    for s in prof["stacks"]:
        fr = s["frames"]
        if "work_a" in fr:
            assert "execute_ex" not in fr, fr
            assert "ap_run_handler" in fr[:fr.index("work_a")], fr
            assert fr.index("{main}") < fr.index("work_a"), fr
            assert "burn" not in fr or fr.index("work_a") < fr.index(
                "burn"), fr
    bad, total = merge_failures(prof["counters"])
    assert total > 0 and bad <= 0.01 * total, prof["counters"]


def test_method_closure_recursion(httpd, timer):
    srv = httpd(mpm="prefork", conf=profiling_conf(timer, 1000) + php_conf())
    assert srv.ab(PHP + "?method=6&closure=6&deep=6", 20, 1)[1] == 0
    prof = srv.profile()
    total = prof["counters"]["samples"]
    method, closure, deep = (func(prof, n) for n in
                             ("Shop::total", "{closure}", "deep"))
    assert method and closure and deep, prof["functions"][:20]
    # The closure runs below array_map's C code, which PHP called: the
    # C frames between stay (zend_call_function called it).
    stacks = [s["frames"] for s in prof["stacks"]]
    with_closure = [fr for fr in stacks if "{closure}" in fr]
    assert with_closure
    for fr in with_closure:
        i = fr.index("{closure}")
        assert fr[i - 1] == "zend_call_function", fr
        assert "{main}" in fr[:i], fr
    # Recursion: 30 frames of deep on a stack, counted once per stack.
    deepest = max(fr.count("deep") for fr in stacks)
    assert deepest == 30, deepest
    assert deep["cum"] <= total
    shares = [f["cum"] / total for f in (method, closure, deep)]
    for s in shares:
        assert 0.25 <= s <= 0.42, shares


def test_pcre_under_its_php_caller(httpd):
    # With PCRE2's JIT off, preg_match's C frames unwind: they sit under
    # the PHP function that called it.
    srv = httpd(mpm="prefork", conf=profiling_conf("cpu", 1000)
                + php_conf("    php_admin_flag pcre.jit off\n"))
    assert srv.ab(PHP + "?regex=40", 10, 1)[1] == 0
    prof = srv.profile()
    under = [s for s in prof["stacks"] if "regex" in s["frames"]
             and "pcre2_match_8" in s["frames"]]
    assert sum(s["samples"] for s in under) >= 0.8 * func(
        prof, "regex")["cum"], prof["stacks"][:3]
    for s in under:
        fr = s["frames"]
        assert fr.index("regex") < fr.index("php_pcre_match_impl") \
            < fr.index("pcre2_match_8"), fr


def test_pcre_jit_code_stays_under_its_php_caller(httpd):
    # JIT-compiled code has no unwind information: the native stack
    # stops in it.  Its time still belongs to the PHP function that ran
    # it, through preg_match (counted as cut, not as a failure).
    srv = httpd(mpm="prefork", conf=profiling_conf("cpu", 1000)
                + php_conf("    php_admin_flag pcre.jit on\n"))
    assert srv.ab(PHP + "?regex=40", 10, 1)[1] == 0
    prof = srv.profile()
    regex = func(prof, "regex")
    assert regex and regex["cum"] >= 0.8 * prof["counters"]["samples"]
    calls = srv.profile(view="callees", func="regex")
    edges = [e for f in calls["callees"] for e in f["edges"]]
    assert any(e["name"] == "preg_match" for e in edges), calls
    c = prof["counters"]
    assert c["script_cut"] > 0, c
    bad, total = merge_failures(c)
    assert bad <= 0.01 * total, c


def test_sleep_under_its_php_caller(httpd, timer):
    srv = httpd(mpm="prefork", conf=profiling_conf(timer, 500) + php_conf())
    assert srv.ab(PHP + "?sleep=100", 10, 1)[1] == 0
    prof = srv.profile()
    pause = func(prof, "pause")
    if timer == "cpu":
        assert pause is None or pause["cum_ms"] <= 0.05 * 1000, pause
        return
    per_request = pause["cum_ms"] / 10
    assert 90 <= per_request <= 110, pause
    # Under the PHP function: libc's sleep, reached through usleep's C
    # implementation (the off-CPU sampler walked the script too).
    fr = max((s for s in prof["stacks"] if "pause" in s["frames"]),
             key=lambda s: s["samples"])["frames"]
    assert fr.index("pause") < fr.index("usleep"), fr


def test_generator_exception_fatal(httpd):
    srv = httpd(mpm="prefork", conf=profiling_conf("cpu", 1000) + php_conf(),
                expected_log=(r"PHP Fatal error: .*undefined_function",))
    assert srv.ab(PHP + "?gen=8&throw=1", 10, 1)[1] == 0
    r = srv.get(PHP + "?fatal=1&a=1")
    assert r.status_code == 500
    prof = srv.profile()
    # A generator's body runs in an execute_ex of its own, entered from
    # the foreach that resumed it.
    assert func(prof, "numbers"), prof["functions"][:20]
    gen = [s["frames"] for s in prof["stacks"] if "numbers" in s["frames"]]
    assert all(fr.index("{main}") < fr.index("numbers") for fr in gen)
    bad, total = merge_failures(prof["counters"])
    assert bad <= 0.01 * total, prof["counters"]


def test_exports_carry_php_frames(httpd):
    srv = httpd(mpm="prefork", conf=profiling_conf("cpu", 1000) + php_conf())
    assert srv.ab(PHP + "?a=6&b=2", 10, 1)[1] == 0
    collapsed = srv.export("collapsed", "p.txt")[1].decode()
    assert re.search(r"\{main\};work_a;burn", collapsed), collapsed[:500]
    pprof = gzip.decompress(srv.export("pprof", "p.pb.gz")[1])
    assert b"work_a" in pprof and b"/tests/apps/php/work.php" in pprof
    flame = srv.get("/reqprof", params={"view": "flame"}).text
    assert 'data-lang="php"' in flame


def test_interpreters_off(httpd):
    srv = httpd(mpm="prefork", conf=profiling_conf("cpu", 1000)
                + "ReqProfInterpreters Off\n" + php_conf())
    assert srv.ab(PHP + "?a=6&b=2", 5, 1)[1] == 0
    prof = srv.profile()
    assert not any(f["object"] == "php" for f in prof["functions"])
    assert func(prof, "execute_ex",
                "/usr/lib/apache2/modules/libphp8.2.so"), \
        prof["functions"][:10]
    assert prof["counters"]["script_merged"] == 0


def test_start_says_what_is_walked(httpd):
    srv = httpd(mpm="prefork", conf=profiling_conf("cpu") + php_conf())
    with open(srv.error_log) as f:
        log = f.read()
    assert "reqprof(1313): php functions are shown" in log, log[-2000:]


def test_bad_interpreters_value(httpd):
    srv = httpd(mpm="prefork", start=False,
                conf="ReqProfInterpreters maybe\n")
    rc, out = srv.configtest()
    assert rc != 0
    assert re.search(r"line \d+ of \S+httpd\.conf:\s*ReqProfInterpreters "
                     r"'maybe': must be On or Off", out), out


def test_now_shows_php_functions(httpd):
    # What the workers are doing now: a PHP request sleeping and one
    # spinning, each with its PHP functions in the stack the page shows.
    srv = httpd(mpm="prefork", conf=profiling_conf("cpu", 499) + php_conf())
    by, status = srv.now_while([PHP + "?sleep=2500", PHP + "?spin=600000"],
                               "pause", "burn")
    blocked, running = by["blocked"], by["running"]
    fb = [f["function"] for f in blocked["stack"]]
    assert fb.index("usleep") < fb.index("pause") < fb.index("{main}"), fb
    pause = blocked["stack"][fb.index("pause")]
    assert pause["object"] == "php" and FILE.search(pause["file"]), pause
    fr = [f["function"] for f in running["stack"]]
    assert "burn" in fr and "execute_ex" not in fr, fr
    assert status == [200, 200]
