"""Restarts and stops in the middle of profiled load, on every MPM and both
timers: graceful restarts, hard restarts (children killed mid-request;
prefork's children destroy their pool from a signal handler while the
request still runs) and a stop under load.  No child may crash, and httpd
must exit cleanly."""

import subprocess
import time

import pytest

from httpd_env import MAX_WORKERS_REACHED, profiling_conf

ROUNDS = 4


@pytest.mark.parametrize("timer", ["cpu", "real"])
def test_restarts_under_load(httpd, mpm, timer):
    # Fifteen clients of long requests fill prefork's workers: httpd says
    # so (MAX_WORKERS_REACHED), which is not a fault here.  The event MPM
    # logs AH03092 when a connection goes into lingering close as a restart
    # tears its generation's pollset down (seen once on a loaded machine);
    # the module never touches connections.
    srv = httpd(profiling_conf(timer=timer, hz=1000), mpm=mpm,
                expected_log=(MAX_WORKERS_REACHED, r"AH03092"))
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
        # A stop while requests run: httpd's own quiesce waits 3 s at
        # most, then SIGTERM goes to a server still under load.
        srv.session.close()
        srv.proc.send_signal(15)
        srv.exit_code = srv.proc.wait(30)
    finally:
        for p in loads:
            p.kill()
            p.wait()
    assert srv.exit_code == 0, srv.exit_code
