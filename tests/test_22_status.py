"""mod_status' /server-status with mod_reqprof: its section (rp_status).

?auto carries ReqProf* lines with the totals the page gives; the HTML a
"mod_reqprof" section with the state, the totals, the top functions and the
way to the reqprof page (linked only where httpd serves it there); one line
when ReqProf is Off; nothing changes without mod_status.  On every MPM.
"""

import re

import pytest

HZ = 199
SPINS = 8

STATUS = """
<Location /server-status>
    SetHandler server-status
</Location>
"""

PAGE = """
<Location /reqprof>
    SetHandler reqprof
</Location>
"""


def conf(on="On", page=PAGE, extra=""):
    """Only /spin is profiled: neither the status nor the page requests
    count."""
    return ("ReqProf %s\nReqProfFrequency %d\nReqProfInclude ^/spin$\n"
            "%s%s%s" % (on, HZ, page, STATUS, extra))


def spin(srv, n=SPINS):
    for _ in range(n):
        r = srv.get("/spin?a=30")
        assert r.status_code == 200, r.text


def auto(srv):
    """The ReqProf* lines of ?auto as a dict; each key once."""
    r = srv.get("/server-status?auto")
    assert r.status_code == 200
    lines = [ln for ln in r.text.splitlines() if ln.startswith("ReqProf")]
    keys = [ln.split(":", 1)[0] for ln in lines]
    assert len(keys) == len(set(keys)), lines
    out = {}
    for ln in lines:
        m = re.fullmatch(r"(ReqProf[A-Za-z]+): (\S+)", ln)
        assert m, ln
        out[m.group(1)] = m.group(2)
    return out


def section(srv, query=""):
    """The mod_reqprof section of the HTML page, to the end of the page."""
    r = srv.get("/server-status" + query)
    assert r.status_code == 200
    at = r.text.find("<h2>mod_reqprof</h2>")
    assert at >= 0, r.text[-2000:]
    assert r.text.count("<h2>mod_reqprof</h2>") == 1
    return r.text[at:r.text.index("</body>")]


def test_auto_has_the_totals(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf(), modules=("status",))
    spin(srv)
    a = auto(srv)
    assert a["ReqProfEnabled"] == "1"
    assert a["ReqProfTimer"] == "cpu"
    assert a["ReqProfFrequency"] == str(HZ)
    assert a["ReqProfRequests"] == str(SPINS)
    assert int(a["ReqProfSamples"]) > 0
    assert int(a["ReqProfDropped"]) >= 0
    # ReqProfKeep's default keeps the 32 most recent.
    assert a["ReqProfKept"] == str(SPINS)
    # The page counts the same (nothing it or the status asks is profiled).
    prof = srv.profile(view="overview")
    k = prof["counters"]
    assert int(a["ReqProfSamples"]) == k["samples"]
    assert int(a["ReqProfDropped"]) == (k["buffer_full"] + k["unwind_failed"]
                                        + k["other_dropped"])
    assert int(a["ReqProfGeneration"]) == prof["generation"]
    # A clear starts a new generation with nothing in it.
    assert srv.control("clear").status_code == 303
    b = auto(srv)
    assert b["ReqProfRequests"] == "0" and b["ReqProfSamples"] == "0"
    assert int(b["ReqProfGeneration"]) > int(a["ReqProfGeneration"])


def test_html_section(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf(), modules=("status",))
    spin(srv)
    a = auto(srv)
    s = section(srv)
    assert "Profiling: on; cpu timer, %d Hz asked, " % HZ in s
    assert re.search(r", [0-9.]+ Hz delivered</dt>", s), s
    assert ("Totals: %d requests profiled, %s samples, %s dropped, %s kept "
            "requests" % (SPINS, a["ReqProfSamples"], a["ReqProfDropped"],
                          a["ReqProfKept"])) in s
    # The top functions: the spinner first, at most five, each with self
    # samples, as the page's functions view has them.
    table = s[s.index("<table"):s.index("</table>")]
    rows = re.findall(r"<tr><td>(\d+)</td><td>[0-9.]+%</td><td>[0-9.]+</td>"
                      r"<td><code>([^<]+)</code></td><td>([^<]+)</td></tr>",
                      table)
    assert 1 <= len(rows) <= 5 and len(rows) == table.count("<tr>") - 1
    assert rows[0][1] == "fixture_spin_a", rows
    assert all(int(n) > 0 for n, _, _ in rows), rows
    assert "mod_reqprof_fixture.c:" in rows[0][2]
    page = srv.profile(limit="5")["functions"]
    assert page[0]["name"] == "fixture_spin_a"
    assert int(rows[0][0]) == page[0]["self"]
    # Where the page is, as httpd would serve it.
    assert ('see the reqprof handler page at <a href="/reqprof">/reqprof</a>'
            in s)


def test_html_without_tables(httpd):
    srv = httpd(conf=conf(), modules=("status",))
    spin(srv, 3)
    s = section(srv, "?notable")
    assert "<table" not in s
    assert re.search(r"<dt><code>fixture_spin_a</code> \d+ samples \(", s), s


def test_page_named_elsewhere_is_not_guessed(httpd, mpm):
    """A <LocationMatch> page has no one URL, a <Location> that a later
    section takes back is not the page: neither is linked."""
    page = """
<LocationMatch "^/rp$">
    SetHandler reqprof
</LocationMatch>
<Location /taken-back>
    SetHandler reqprof
</Location>
<Location /taken-back>
    SetHandler none
</Location>
"""
    srv = httpd(mpm=mpm, conf=conf(page=page), modules=("status",))
    assert srv.get("/rp?format=text").status_code == 200
    spin(srv, 2)
    s = section(srv)
    assert "see the reqprof handler page.</p>" in s
    assert "href" not in s
    assert "fixture_spin_a" in s


def test_page_link_is_escaped(httpd):
    page = """
<Location "/r p&x">
    SetHandler reqprof
</Location>
"""
    srv = httpd(conf=conf(page=page), modules=("status",))
    assert srv.get("/r%20p%26x?format=text").status_code == 200
    s = section(srv)
    assert ('see the reqprof handler page at <a href="/r%20p%26x">'
            '/r%20p%26x</a>' in s), s


def test_reqprof_off(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf(on="Off"), modules=("status",))
    spin(srv, 3)
    a = auto(srv)
    assert a["ReqProfEnabled"] == "0"
    assert a["ReqProfRequests"] == "0"
    # The heading and one line.
    assert section(srv).splitlines() == [
        "<h2>mod_reqprof</h2>",
        "<p>ReqProf is Off: no request is profiled.</p>"]
    # Turned on from the page, it is on, whatever the configuration said.
    assert srv.control("enable").status_code == 303
    spin(srv, 2)
    a = auto(srv)
    assert a["ReqProfEnabled"] == "1" and a["ReqProfRequests"] == "2"
    assert "Profiling: on;" in section(srv)


def test_paused_from_the_page(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf(), modules=("status",))
    spin(srv, 2)
    assert srv.control("pause").status_code == 303
    spin(srv, 2)
    a = auto(srv)
    assert a["ReqProfEnabled"] == "0" and a["ReqProfRequests"] == "2"
    s = section(srv)
    assert "Profiling: paused; cpu timer" in s
    assert "Totals: 2 requests profiled" in s
    assert "fixture_spin_a" in s


def test_without_mod_status(httpd, mpm):
    """Nothing changes: the server starts, profiles, and its page works."""
    srv = httpd(mpm=mpm, conf=conf().replace(STATUS, ""))
    spin(srv, 3)
    assert srv.get("/server-status?auto").status_code == 404
    prof = srv.profile()
    assert prof["counters"]["requests"] == 3
    assert prof["functions"][0]["name"] == "fixture_spin_a"
    r = srv.get("/reqprof?format=text")
    assert r.status_code == 200 and r.text.startswith("mod_reqprof ")
