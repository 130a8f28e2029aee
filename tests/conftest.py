"""pytest wiring: one real httpd per configuration, stopped and its error
log checked after each test (a crash, [crit], [emerg] or an unexpected
[error] fails the test that caused it)."""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from httpd_env import MPMS, Httpd  # noqa: E402
from browser import browser  # noqa: E402,F401  (a fixture)


@pytest.fixture(params=MPMS)
def mpm(request):
    return request.param


@pytest.fixture
def httpd(request):
    """Factory: httpd(conf=..., mpm=..., reqprof=True, start=True, ...)."""
    made = []
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]

    def make(conf="", mpm="event", start=True, expected_log=(), **kw):
        name = "%s.%d" % (base, len(made))
        srv = Httpd(name, mpm=mpm, conf=conf, **kw)
        srv.expected_log = tuple(expected_log)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    problems = []
    for srv in made:
        srv.stop()
        problems += ["%s: %s" % (srv.name, line)
                     for line in srv.log_problems(srv.expected_log)]
    assert not problems, "error log:\n" + "\n".join(problems)
