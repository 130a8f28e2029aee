"""Every directive's bad values fail `httpd -t` with the file, the line, the
directive, the value and the reason; good values pass. Checked on each MPM
(the directive table is the same, the MPM's own checks run too)."""

import re

import pytest

# (directive line, the value as quoted in the message, reason substring)
BAD = [
    ("ReqProf maybe", "maybe", "must be On or Off"),
    ("ReqProfInclude (", "(", "missing closing parenthesis at offset 1"),
    ("ReqProfInclude ^/ok a{2,1}", "a{2,1}", "numbers out of order"),
    ("ReqProfExclude [z-a]", "[z-a]", "range out of order"),
    ("ReqProfExclude (*UTF)x", "(*UTF)x", "UTF is disabled"),
    ("ReqProfTimer wall", "wall", "must be 'cpu'"),
    ("ReqProfFrequency 0", "0", "must be 1 to 10000 Hz"),
    ("ReqProfFrequency 100000", "100000", "must be 1 to 10000 Hz"),
    ("ReqProfFrequency abc", "abc", "not a whole number"),
    ("ReqProfFrequency 10.5", "10.5", "not a whole number"),
    ("ReqProfFrequency -5", "-5", "must be 1 to 10000"),
    ("ReqProfFrequency 99999999999999999999999", "99999999999999999999999",
     "not a whole number"),
    ("ReqProfMaxDepth 2", "2", "must be 4 to 1024 frames"),
    ("ReqProfMaxDepth 5000", "5000", "must be 4 to 1024 frames"),
    ("ReqProfSignal SIGHUP", "SIGHUP", "httpd uses it to restart"),
    ("ReqProfSignal USR1", "USR1", "graceful restart"),
    ("ReqProfSignal SIGTERM", "SIGTERM", "httpd uses it to stop"),
    ("ReqProfSignal SIGWINCH", "SIGWINCH", "graceful stop"),
    ("ReqProfSignal SIGKILL", "SIGKILL", "cannot be caught"),
    ("ReqProfSignal SIGSEGV", "SIGSEGV", "crash"),
    ("ReqProfSignal SIGFOO", "SIGFOO", "unknown signal name"),
    ("ReqProfSignal RTMIN+99", "RTMIN+99", "beyond the last real-time"),
    ("ReqProfSignal RTMIN-1", "RTMIN-1", "write RTMIN+N"),
    ("ReqProfSignal 0", "0", "signal numbers run from 1"),
    ("ReqProfSignal 1", "1", "httpd uses it to restart"),
    ("ReqProfSignal 33", "33", "reserves it"),
    ("ReqProfMemory 1K", "1K", "must be 64K to 1G"),
    ("ReqProfMemory 2G", "2G", "must be 64K to 1G"),
    ("ReqProfMemory 12X", "12X", "not a size"),
    ("ReqProfMemory -1", "-1", "not a size"),
    ("ReqProfSort bogus", "bogus", "unknown sort key; one of: self"),
    ("ReqProfStripDirs maybe", "maybe", "must be On or Off"),
    ("ReqProfLimit -1", "-1", "must be 0 to 1000000"),
    ("ReqProfLimit 2000000", "2000000", "must be 0 to 1000000"),
    ("ReqProfLimit x", "x", "not a whole number"),
    ("ReqProfKeep recent x", "recent x",
     "recent 'x' must be a whole number from 0 to 100000"),
    ("ReqProfKeep recent 200000", "recent 200000",
     "recent '200000' must be a whole number from 0 to 100000"),
    ("ReqProfKeep slowest 5 slowest 6", "slowest 5 slowest 6",
     "'slowest' is given twice"),
    ("ReqProfKeep fastest 3", "fastest 3", "unknown rule 'fastest'"),
    ("ReqProfKeep recent", "recent", "expected Off, or pairs of a rule"),
    ("ReqProfRedact X-Bad:Name", "X-Bad:Name", "not a header name"),
    ("ReqProfServerTiming maybe", "maybe", "must be On or Off"),
    ("ReqProfSlowLog soon", "soon", "SECONDS must be Off or a whole number"),
    ("ReqProfSlowLog -2", "-2", "SECONDS must be Off or a whole number"),
    ("ReqProfSlowLog 100000", "100000", "from 0 to 86400"),
    ("ReqProfSlowLog Off logs/slow.log", "Off logs/slow.log",
     "a FILE for a slow log that is off"),
    ("ReqProfSlowLog 2 |", "2 |", "FILE is empty"),
]

# Process-wide directives refused inside a virtual host.
GLOBAL_ONLY = ["ReqProf On", "ReqProfTimer real", "ReqProfFrequency 100",
               "ReqProfMaxDepth 64", "ReqProfSignal SIGUSR2",
               "ReqProfMemory 1M", "ReqProfKeep recent 5"]

GOOD = """
ReqProf On
ReqProfInclude ^/app/ "^/a b/" (?i)^/API/
ReqProfExclude \\.png$
ReqProfTimer real
ReqProfFrequency 997
ReqProfMaxDepth 256
ReqProfSignal SIGRTMIN+5
ReqProfMemory 64K
ReqProfSort cumulative
ReqProfStripDirs On
ReqProfLimit 0
ReqProfKeep recent 64 slowest 16 errors 16
ReqProfRedact X-Api-Key X-Session
ReqProfServerTiming On
<Location /quiet>
    ReqProfServerTiming Off
</Location>
ReqProfSlowLog 10
<VirtualHost 127.0.0.1:8080>
    ReqProfSlowLog 3 logs/slow-other.log
    ReqProfRedact X-Other
    ReqProfServerTiming Off
    ReqProfInclude ^/other
    ReqProfExclude ^/other/static
    ReqProfSort name
    ReqProfStripDirs Off
    ReqProfLimit 25
</VirtualHost>
"""

GOOD_SIGNALS = ["PROF", "SIGPROF", "VTALRM", "SIGUSR2", "ALRM", "RTMIN",
                "SIGRTMIN+0", "RTMAX", "RTMAX-3", "sigrtmin+2", "40"]


def line_of(conf_path, text):
    with open(conf_path) as f:
        for n, line in enumerate(f, 1):
            if line.rstrip("\n") == text:
                return n
    raise AssertionError("%r not in %s" % (text, conf_path))


@pytest.mark.parametrize("line,value,reason", BAD, ids=[b[0] for b in BAD])
def test_bad_value_fails_configtest(httpd, mpm, line, value, reason):
    srv = httpd(mpm=mpm, conf=line + "\n", start=False)
    rc, out = srv.configtest()
    assert rc != 0, out
    n = line_of(srv.conf_path, line)
    assert "Syntax error on line %d of %s:" % (n, srv.conf_path) in out, out
    directive = line.split()[0]
    assert "%s '%s': " % (directive, value) in out, out
    assert reason in out, out


@pytest.mark.parametrize("line", GLOBAL_ONLY)
def test_process_wide_directive_refused_in_vhost(httpd, mpm, line):
    srv = httpd(mpm=mpm, start=False, conf="<VirtualHost 127.0.0.1:8080>\n"
                + line + "\n</VirtualHost>\n")
    rc, out = srv.configtest()
    assert rc != 0, out
    n = line_of(srv.conf_path, line)
    assert "line %d of %s" % (n, srv.conf_path) in out, out
    assert "not allowed here: it applies to the whole server" in out, out
    assert "%s '%s'" % tuple(line.split(" ", 1)) in out, out


def test_missing_argument(httpd, mpm):
    srv = httpd(mpm=mpm, start=False, conf="ReqProfInclude\n")
    rc, out = srv.configtest()
    assert rc != 0 and "ReqProfInclude requires at least one argument" in out


def test_good_config_passes_and_serves(httpd, mpm):
    srv = httpd(mpm=mpm, start=False, conf=GOOD + """
<Location /reqprof>
    SetHandler reqprof
</Location>
""")
    rc, out = srv.configtest()
    assert rc == 0 and "Syntax OK" in out, out
    srv.start()
    text = srv.get("/reqprof?format=text").text
    for want in ("profiling        on", "timer            real",
                 "frequency        997 Hz", "max depth        256 frames",
                 "signal           SIGRTMIN+5", "memory           65536 bytes",
                 "sort=cumulative strip_dirs=on limit=0", "^/a b/",
                 "(?i)^/API/"):
        assert want in text, (want, text)


@pytest.mark.parametrize("sig", GOOD_SIGNALS)
def test_good_signal_names(httpd, sig):
    srv = httpd(start=False, conf="ReqProfSignal %s\n" % sig)
    rc, out = srv.configtest()
    assert rc == 0, out


def test_example_config_is_valid(httpd, mpm):
    """conf.d/reqprof.conf, as shipped, passes -t and protects the page."""
    from httpd_env import EXAMPLE_CONF
    srv = httpd(mpm=mpm, start=False, conf="Include %s\n" % EXAMPLE_CONF)
    rc, out = srv.configtest()
    assert rc == 0, out
    with open(EXAMPLE_CONF) as f:
        text = f.read()
    assert re.search(r"<Location \"/reqprof\">\s*SetHandler reqprof\s*"
                     r"Require local", text)
