"""Exports on a real httpd, read by the tools they are made for: pprof by
`go tool pprof`, callgrind by callgrind_annotate, dot by Graphviz, the
folded stacks by a parser as strict as FlameGraph's.  The fixture's
/spin?a=200&b=100 spends twice the CPU time in fixture_spin_a as in
fixture_spin_b, so every tool must show that ratio; ?seconds=N must hold
only what ran during those seconds."""

import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from httpd_env import OUT, profiling_conf as conf

# The load on event; half of it on the other MPMs (still over a
# thousand samples: a CPU-clock timer ticks at most at the kernel's HZ, 250
# here, whatever the frequency asked), where the point is that the exports
# hold up under another MPM's threads and processes.
SPIN = {"event": "/spin?a=200&b=100", "worker": "/spin?a=100&b=50",
        "prefork": "/spin?a=100&b=50"}


def tool(name, package):
    path = shutil.which(name)
    if not path:
        pytest.skip("%s not installed (Debian package %s; make -f apxs.mk "
                    "deps)" % (name, package))
    return path


def go_env():
    """go writes its caches under HOME; keep them in tests/out."""
    base = os.path.join(OUT, "go")
    env = dict(os.environ, HOME=base, GOCACHE=os.path.join(base, "cache"),
               GOPATH=os.path.join(base, "path"),
               PPROF_TMPDIR=os.path.join(base, "pprof"))
    for d in ("cache", "path", "pprof"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    return env


def pprof(path, *args):
    go = tool("go", "golang-go")
    p = subprocess.run([go, "tool", "pprof"] + list(args) + [path],
                       capture_output=True, text=True, env=go_env(),
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def pprof_flat(top, name):
    """The flat milliseconds of NAME in `pprof -top -unit=ms` output."""
    for line in top.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[5] == name:
            return float(re.match(r"[\d.]+", cols[0]).group(0))
    return 0.0


def annotate_self(text, name):
    """NAME's first cost (Samples) in callgrind_annotate output."""
    m = re.search(r"^\s*([\d,]+) .*:%s \[" % re.escape(name), text, re.M)
    return int(m.group(1).replace(",", "")) if m else 0


def ratio_ok(a, b):
    assert b > 0, (a, b)
    assert 1.6 <= a / b <= 2.5, (a, b, a / b)


def test_exports_of_spin(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 999))
    assert srv.ab(SPIN[mpm], 40, 2)[1] == 0
    time.sleep(0.5)             # every request drained into the store
    total = srv.profile()["samples"]
    assert total > 500

    # pprof: go tool pprof reads it; the split and the URI label show.
    path, body, headers = srv.export("pprof", "profile.pb.gz")
    assert body[:2] == b"\x1f\x8b"
    assert headers["Content-Disposition"].endswith('.pb.gz"')
    top = pprof(path, "-top", "-nodecount=200", "-unit=ms")
    ratio_ok(pprof_flat(top, "fixture_spin_a"),
             pprof_flat(top, "fixture_spin_b"))
    assert "Type: cpu" in top, top[:500]
    traces = pprof(path, "-traces")
    assert re.search(r"^\s*uri:\s+/spin$", traces, re.M), traces[:2000]
    # The request's other labels: method, host and handler as strings,
    # the status as a number.
    assert re.search(r"^\s*method:\s+GET$", traces, re.M), traces[:2000]
    assert re.search(r"^\s*handler:\s+reqprof-fixture$", traces, re.M), \
        traces[:2000]
    assert re.search(r"^\s*vhost:\s+127\.0\.0\.1$", traces, re.M), \
        traces[:2000]
    assert re.search(r"^\s*status:\s+200$", traces, re.M), traces[:2000]

    # callgrind: callgrind_annotate reads it and shows the same split.
    path, body, _ = srv.export("callgrind", "callgrind.out.reqprof")
    p = subprocess.run([tool("callgrind_annotate", "valgrind"),
                        "--threshold=100", "--auto=no", path],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "WARNING" not in p.stderr, p.stderr
    ratio_ok(annotate_self(p.stdout, "fixture_spin_a"),
             annotate_self(p.stdout, "fixture_spin_b"))
    assert "%s (100.0%%)" % format(total, ",") in p.stdout, p.stdout[:1500]

    # dot: Graphviz renders it; both spinners are nodes.
    path, body, _ = srv.export("dot", "callgraph.dot")
    text = body.decode("utf-8")
    for name in ("fixture_spin_a", "fixture_spin_b", "fixture_handler"):
        assert re.search(r'\[color="#[0-9a-f]{6}", label="%s\\n' % name,
                         text), name
    p = subprocess.run([tool("dot", "graphviz"), "-Tsvg", path],
                       capture_output=True, timeout=120)
    assert p.returncode == 0 and b"<svg" in p.stdout, p.stderr

    # collapsed: "frames count" lines summing to the profile's samples,
    # the fixture's stack outermost first below its URI.
    _, body, _ = srv.export("collapsed", "profile.folded")
    lines = body.decode("utf-8").splitlines()
    assert lines
    count, seen = 0, False
    for line in lines:
        m = re.match(r"^(\S.*) (\d+)$", line)
        assert m, line
        frames = m.group(1).split(";")
        assert all(frames), line
        count += int(m.group(2))
        if frames[-1] == "fixture_spin_a":
            assert frames[0] == "/spin", line
            assert "fixture_handler" in frames[1:-1], line
            seen = True
    assert seen
    assert count == total


def test_seconds_holds_only_the_window(httpd):
    """?seconds=2 is the difference of two snapshots: the fixture_spin_a
    work done before the fetch is not in it, the /spin?b= work done
    during it is."""
    srv = httpd(conf=conf("cpu", 999))
    assert srv.ab("/spin?a=100", 10, 2)[1] == 0
    time.sleep(0.5)
    got = {}

    def fetch():
        got["answer"] = srv.fetch("/reqprof?format=pprof&seconds=2",
                                  timeout=30)

    t = threading.Thread(target=fetch)
    started = time.time()
    t.start()
    time.sleep(0.3)             # the first snapshot is taken at once
    while t.is_alive() and time.time() - started < 1.5:
        assert srv.ab("/spin?b=100", 4, 2)[1] == 0
    t.join()
    status, headers, body = got["answer"]
    assert status == 200, body[:500]
    path = os.path.join(srv.root, "window.pb.gz")
    with open(path, "wb") as f:
        f.write(body)
    top = pprof(path, "-top", "-nodecount=200", "-unit=ms")
    assert pprof_flat(top, "fixture_spin_b") > 100, top
    assert "fixture_spin_a" not in top, top
    assert re.search(r"Duration: 2s", top), top[:500]
    # The cumulative profile still has both.
    full = srv.profile()
    names = {f["name"] for f in full["functions"]}
    assert {"fixture_spin_a", "fixture_spin_b"} <= names
