"""Symbols people expect, on a real httpd: the vDSO's functions by the
names perf gives them.  The fixture's /clock?ms=N spends its CPU time
reading CLOCK_MONOTONIC, which runs in the vDSO (__vdso_clock_gettime and,
on some clock sources, a static helper of it), an ELF image the kernel
maps into every process with no file behind it.  Every view and export
must name its functions under the object "[vdso]", as perf does, and
never show the loader's "linux-vdso.so.1+0x..." rows of raw offsets.

(Stripped libraries with their debug files are checked by the unit test,
check_symbols, with a library and a debug tree it builds itself.)"""

import re
import time

from httpd_env import profiling_conf as conf

CLOCK = "__vdso_clock_gettime"

# httpd_env routes the older fixture URLs only.
CLOCK_ROUTE = """<Location "/clock">
    SetHandler reqprof-fixture
</Location>
"""


def raw_vdso(text):
    """A loader-named vDSO row anywhere in TEXT."""
    return re.search(r"linux-(vdso|gate)[0-9]*\.so\.1", text)


def test_vdso_functions_are_named(httpd):
    srv = httpd(mpm="event", conf=conf("cpu", 250, CLOCK_ROUTE))
    assert srv.ab("/clock?ms=100", 20, 2)[1] == 0
    time.sleep(0.5)             # every request drained into the store
    prof = srv.profile()
    total = prof["samples"]
    assert total > 100, prof["counters"]
    funcs = prof["functions"]
    top = [(f["name"], f["object"], f["self"], f["cum"]) for f in funcs[:12]]

    # The clock's function carries most of the time, in the vDSO.
    vdso = [f for f in funcs if f["object"] == "[vdso]"]
    clock = [f for f in vdso if f["name"] == CLOCK]
    assert clock, top
    assert clock[0]["cum"] >= 0.5 * total, (clock[0], total, top)
    # One row per vDSO function (a static one as "[vdso]+0xSTART"), not
    # one per sampled instruction: the image has a dozen functions.
    assert len(vdso) <= 16, [f["name"] for f in vdso]
    for f in funcs:
        assert not raw_vdso(f["name"]) and not raw_vdso(f["object"]), f

    # Unwound through the vDSO: below the handler, under the URI.
    seen = False
    for s in prof["stacks"]:
        frames = s["frames"]
        if CLOCK in frames:
            assert frames[0] == "/clock", frames
            assert "fixture_clock" in frames, frames
            assert frames.index("fixture_clock") < frames.index(CLOCK)
            seen = True
    assert seen

    # The functions view, as text and HTML.
    for fmt in ("text", "html"):
        r = srv.get("/reqprof", params={"view": "functions", "format": fmt,
                                        "limit": "0"})
        assert r.status_code == 200
        assert CLOCK in r.text, r.text[:2000]
        assert "[vdso]" in r.text
        assert not raw_vdso(r.text), raw_vdso(r.text)

    # The folded stacks: the clock's function below fixture_clock.
    r = srv.get("/reqprof", params={"format": "collapsed"})
    assert r.status_code == 200
    assert not raw_vdso(r.text), raw_vdso(r.text)
    lines = [line for line in r.text.splitlines()
             if (";%s;" % CLOCK) in line or line.split(" ")[0].endswith(
                 ";" + CLOCK)]
    assert lines, r.text[:2000]
    assert all(line.startswith("/clock;") and ";fixture_clock;" in line
               for line in lines), lines[:5]
