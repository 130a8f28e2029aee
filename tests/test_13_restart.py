"""Restarts and stops in the middle of profiled load, on every MPM and both
timers: graceful restarts, hard restarts (children killed mid-request;
prefork's children destroy their pool from a signal handler while the
request still runs) and a stop under load.  No child may crash, and httpd
must exit cleanly.

One crash is httpd's own: at a hard restart the event MPM's main thread
shuts down the sockets of connections in flight (close_worker_sockets)
while a worker that just finished one frees it, and reads freed memory in
apr_os_sock_get.  A core dump tells it apart: a crash is let through only
when its core's crashing thread is that one, with no frame of this module.
Without a core (or gdb) to show it, any crash fails the test."""

import glob
import os
import re
import resource
import shutil
import subprocess
import time

import pytest

from httpd_env import HTTPD, MAX_WORKERS_REACHED, OUT, profiling_conf


def httpd_race_core(core):
    """Whether CORE's crashing thread is the event MPM's own socket race
    (see above), with no frame of mod_reqprof."""
    if not shutil.which("gdb"):
        return False
    bt = subprocess.run(["gdb", "-q", "-batch", "-ex", "bt 40", HTTPD, core],
                        capture_output=True, text=True).stdout
    frames = [line for line in bt.splitlines() if re.match(r"#\d+ ", line)]
    return (bool(frames) and "apr_os_sock_get" in frames[0]
            and any("mod_mpm_event.so" in f for f in frames[1:3])
            and not any("mod_reqprof" in f or " rp_" in f for f in frames))


def allow_httpd_races(srv, cores_dir):
    """Add each segfault whose core shows httpd's own race to what the log
    may hold; leave any other crash to fail the test."""
    # AH00051 when a core may have been dumped (CoreDumpDirectory), else
    # AH00052.
    crashes = re.findall(r"AH0005[12]: child pid (\d+) exit signal "
                         r"Segmentation fault", srv.new_log())
    cores = glob.glob(os.path.join(cores_dir, "core*"))
    if not crashes or len(cores) < len(crashes):
        return
    if all(httpd_race_core(c) for c in cores):
        srv.expected_log = tuple(srv.expected_log) + tuple(
            r"AH0005[12]: child pid %s exit signal Segmentation fault" % pid
            for pid in crashes)

ROUNDS = 4


@pytest.mark.parametrize("timer", ["cpu", "real"])
def test_restarts_under_load(httpd, mpm, timer):
    # Fifteen clients of long requests fill prefork's workers: httpd says
    # so (MAX_WORKERS_REACHED), which is not a fault here.  The event MPM
    # logs AH03092 when a connection goes into lingering close as a restart
    # tears its generation's pollset down (seen once on a loaded machine),
    # AH03093 when it goes back to keep-alive at that moment (the same
    # race: "apr_pollset_add failure for keep alive", EBADF; seen once, in
    # CI, on event with the real timer), and AH03490 ("scoreboard is full") when the old generation's children
    # still hold their slots as the new one starts; the module never
    # touches connections or the scoreboard.
    cores_dir = os.path.join(OUT, "cores-restart-%s-%s" % (mpm, timer))
    shutil.rmtree(cores_dir, ignore_errors=True)
    os.makedirs(cores_dir)
    os.chmod(cores_dir, 0o777)      # the children dump as the run user
    core_limit = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (core_limit[1], core_limit[1]))
    try:
        srv = httpd(profiling_conf(timer=timer, hz=1000,
                                   extra="CoreDumpDirectory %s\n"
                                   % cores_dir),
                    mpm=mpm, expected_log=(MAX_WORKERS_REACHED, r"AH03092",
                                          r"AH03093", r"AH03490"))
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, core_limit)
    loads = []
    try:
        for path in ("/spin?a=3", "/sleep?ms=5", "/recurse?depth=40&ms=2",
                     "/sleep?ms=1500", "/spin?a=1500"):
            loads.append(subprocess.Popen(
                ["ab", "-q", "-r", "-s", "5", "-t", "30", "-n", "1000000",
                 "-c", "3", srv.url(path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        for i in range(ROUNDS):
            # Each signal only once the previous generation runs: httpd
            # forgets a signal that arrives while a generation is still
            # starting (it clears its pending flags when the MPM runs
            # again), which a loaded machine makes likely.
            started = srv.new_log().count("resuming normal operations")
            if i % 2:
                srv.restart()
            else:
                srv.graceful()
            deadline = time.time() + 30
            while (srv.new_log().count("resuming normal operations") <= started
                   and time.time() < deadline):
                time.sleep(0.05)
            time.sleep(0.6)
        # Still under load, after restarts of both kinds: kept requests
        # are listed and open on their own page (one may give way to a
        # newer one in between: then it is no longer listed either).  Each
        # query on a connection of its own: httpd's idle maintenance may
        # stop the child that holds a kept-alive one, which closes it as
        # the next request is sent (the HTTP race a browser retries on;
        # CI saw it once), while a crash would still show in the log.
        srv.session.close()
        kept = srv.profile(view="requests")["kept"]
        assert kept
        for k in (kept[0], max(kept, key=lambda k: k["wall_us"])):
            srv.session.close()
            r = srv.get("/reqprof", params={"view": "request",
                                            "id": k["id"]})
            if r.status_code == 404:
                srv.session.close()
                assert k["id"] not in [
                    x["id"] for x in srv.profile(view="requests")["kept"]]
            else:
                assert r.status_code == 200, r.text[:300]
                assert k["id"] in r.text
        # A stop while requests run: httpd's own quiesce waits 3 s at
        # most, then SIGTERM goes to a server still under load.
        srv.session.close()
        srv.proc.send_signal(15)
        srv.exit_code = srv.proc.wait(30)
    finally:
        for p in loads:
            p.kill()
            p.wait()
        allow_httpd_races(srv, cores_dir)
    assert srv.exit_code == 0, srv.exit_code
