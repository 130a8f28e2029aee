"""The page on a real httpd, every MPM: its controls (POST with a nonce,
same origin only) reach every child; its views and formats show the
fixture's known work, and its overview the same facts in every format;
sorting, strip dirs, restrictions and focus do what they say; hostile URIs
stay escaped everywhere; a .htaccess cannot open it."""

import html
import json
import os
import re
import threading
import time

import pytest

from httpd_env import OUT, profiling_conf as conf

VIEWS = ("overview", "functions", "callers", "callees", "tree", "flame",
         "requests")
PAGE_FORMATS = ("html", "text", "json")
REFUSED = r"reqprof\(1201\): refused a page change"


def func(prof, name):
    for f in prof["functions"]:
        if f["name"] == name:
            return f
    return None


def total_requests(srv):
    return srv.profile(view="overview")["counters"]["requests"]


def drive(srv, path="/spin?a=20&b=10", n=24, c=3):
    done, failed = srv.ab(path, n, c)
    assert (done, failed) == (n, 0)


# ---------------------------------------------------------------- controls

def test_pause_and_enable_reach_every_child(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 250))
    drive(srv)
    before = total_requests(srv)
    assert before >= 24
    assert srv.control("pause").status_code == 303
    prof = srv.profile(view="overview")
    assert prof["settings"]["enabled"] is False
    assert "paused" in prof["notice"]
    # Many requests on many connections: whichever child serves them, none
    # is profiled while paused.
    drive(srv, n=60, c=6)
    assert total_requests(srv) == before
    assert srv.control("enable").status_code == 303
    drive(srv, n=60, c=6)
    assert total_requests(srv) == before + 60


def test_clear_empties_the_profile(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 250))
    drive(srv)
    gen = srv.profile(view="overview")["generation"]
    r = srv.control("clear")
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/reqprof")
    prof = srv.profile()
    assert prof["generation"] == gen + 1
    assert prof["samples"] == 0 and prof["counters"]["requests"] == 0
    assert prof["functions"] == [] and prof["uris"] == []
    drive(srv, n=12)
    assert total_requests(srv) == 12


def test_request_in_flight_across_a_clear_is_dropped(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 250))
    drive(srv, n=6)
    nonce = srv.profile(view="overview")["nonce"]
    slow = threading.Thread(target=srv.fetch, args=("/spin?a=600",))
    slow.start()
    time.sleep(0.2)             # it is spinning now, and sampled
    assert srv.control("clear", nonce=nonce).status_code == 303
    slow.join()
    prof = srv.profile()
    assert prof["counters"]["requests"] == 0, prof["counters"]
    assert func(prof, "fixture_spin_a") is None


def test_timer_switch_clears_and_real_time_starts(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 200))
    drive(srv)
    assert srv.control("timer", timer="real").status_code == 303
    prof = srv.profile()
    assert prof["settings"]["timer"] == "real"
    assert prof["counters"]["requests"] == 0, "switching must clear"
    # The children started in cpu mode: their off-CPU sampler starts with
    # the first real-time request, and blocked time is now seen.
    done, failed = srv.ab("/sleep?ms=100", 16, 2)
    assert failed == 0
    sleep = func(srv.profile(), "fixture_sleep")
    assert sleep and 70 <= sleep["cum_ms"] / 16 <= 130, sleep
    # Back to cpu: cleared again; blocked time no longer counts.
    assert srv.control("timer", timer="cpu").status_code == 303
    assert srv.profile()["counters"]["requests"] == 0
    srv.ab("/sleep?ms=100", 8, 2)
    sleep = func(srv.profile(), "fixture_sleep")
    assert sleep is None or sleep["cum_ms"] <= 0.05 * 100 * 8


def test_frequency_change_reaches_every_child(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 50))
    drive(srv, "/spin?a=100", 16, 4)
    low = srv.profile(view="overview")["settings"]["delivered_hz"]
    assert srv.control("frequency", frequency="997").status_code == 303
    srv.control("clear")
    drive(srv, "/spin?a=100", 16, 4)
    prof = srv.profile(view="overview")
    assert prof["settings"]["frequency"] == 997
    high = prof["settings"]["delivered_hz"]
    # The CPU clock ticks at most at the kernel tick (250 Hz here), so
    # 997 asked gives about 250, five times 50.
    assert 25 <= low <= 75 and high >= 2.5 * low, (low, high)


BAD_POSTS = [
    # (what, extra fields, headers, status, reason)
    ("no nonce", {"nonce": ""}, None, 403, "nonce is missing or old"),
    ("wrong nonce", {"nonce": "0" * 40}, None, 403, "nonce is missing or old"),
    ("foreign origin", {}, "http://evil.example", 403,
     "from another origin"),
    ("origin null", {}, "null", 403, "from another origin"),
    ("no origin", {}, False, 403, "without an Origin or Referer"),
    ("bad action", {"action": "reboot"}, None, 400, "action 'reboot' is not"),
    ("timer without value", {"action": "timer"}, None, 400,
     "action timer needs timer=cpu|real"),
    ("bad frequency", {"action": "frequency", "frequency": "0"}, None, 400,
     "frequency must be 1 to 10000"),
    ("bad back", {"back": "http://evil.example/"}, None, 400,
     "back must be a query string"),
]


@pytest.mark.parametrize("what,fields,origin,status,reason", BAD_POSTS,
                         ids=[b[0] for b in BAD_POSTS])
def test_refused_changes_change_nothing(httpd, mpm, what, fields, origin,
                                        status, reason):
    srv = httpd(mpm=mpm, conf=conf("cpu", 250), expected_log=[REFUSED])
    drive(srv, n=12)
    before = srv.profile(view="overview")
    nonce = fields.get("nonce", before["nonce"])
    action = fields.get("action", "clear")
    extra = {k: v for k, v in fields.items() if k not in ("nonce", "action")}
    r = srv.control(action, origin=True if origin is None else origin,
                    nonce=nonce, **extra)
    assert r.status_code == status, r.text
    assert r.text.count("\n") == 1 and reason in r.text, r.text
    after = srv.profile(view="overview")
    assert after["generation"] == before["generation"]
    assert after["settings"] == before["settings"]
    assert after["counters"]["requests"] == 12
    assert len(re.findall(REFUSED, srv.new_log())) == 1


def test_same_origin_referer_is_enough_and_nonces_retire(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 250), expected_log=[REFUSED])
    drive(srv, n=12)
    nonce = srv.profile(view="overview")["nonce"]
    r = srv.session.post(srv.url("/reqprof"),
                         data={"action": "clear", "nonce": nonce,
                               "back": "?view=functions"},
                         headers={"Referer": srv.url("/reqprof?view=tree")},
                         allow_redirects=False)
    assert r.status_code == 303
    assert r.headers["Location"] == "/reqprof?view=functions&done=clear"
    # The page the browser lands on says what was done.
    landed = srv.get(r.headers["Location"] + "&format=json").json()
    assert landed["notice"] == "profile cleared"
    # The clear retired the nonce: a replay changes nothing.
    drive(srv, n=6)
    assert srv.control("clear", nonce=nonce).status_code == 403
    assert total_requests(srv) == 6


def test_get_with_an_action_changes_nothing(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 250))
    drive(srv, n=12)
    nonce = srv.profile(view="overview")["nonce"]
    r = srv.get("/reqprof", params={"action": "clear", "nonce": nonce})
    assert r.status_code == 400
    assert total_requests(srv) == 12


# ------------------------------------------------------------------- views

@pytest.fixture
def profiled(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 499))
    drive(srv, "/spin?a=60&b=30", 20, 2)
    return srv


def test_every_view_and_format_shows_the_fixture(profiled):
    srv = profiled
    overview = {}
    for view in VIEWS:
        for fmt in PAGE_FORMATS:
            params = {"view": view, "format": fmt}
            if view in ("callers", "callees"):
                params["func"] = "fixture_spin_a" if view == "callers" \
                    else "do_spin"
            r = srv.get("/reqprof", params=params)
            assert r.status_code == 200, (view, fmt, r.text[:200])
            assert "charset=utf-8" in r.headers["Content-Type"]
            assert r.headers["Cache-Control"] == "no-store"
            if fmt == "json":
                doc = json.loads(r.text)
                assert doc["view"] == view
            if view == "requests":
                assert "/spin" in r.text, (view, fmt)
            elif view != "overview":
                assert "fixture_spin" in r.text, (view, fmt)
            else:
                overview[fmt] = r.text
    overview_agrees(overview, srv.profile(view="overview"))


# Facts of the child that answers, which may be another for each format.
THIS_CHILD = {"slot", "limit_hits", "sampler_off"}


def overview_agrees(pages, again):
    """The overview's three forms come from one table: every fact of the
    JSON (and every column of its children) is a value marked with its key
    in a row of the HTML, whose label starts a line of the text, and no row
    of the HTML has a key the JSON lacks.  A figure the JSON fetched AGAIN
    after the others still shows reads the same in all three."""
    doc = json.loads(pages["json"])
    lines = pages["text"].splitlines()
    assert set(doc["overview"]) == {"status", "totals", "store", "config"}
    for section, facts in doc["overview"].items():
        table = re.search(r'<table class="kv" id="%s">(.*?)</table>'
                          % section, pages["html"], re.S)
        assert table, section
        assert set(re.findall(r'data-key="(\w+)"', table.group(1))) \
            == set(facts), section
        rows = re.findall(r"<tr><th>(.*?)</th><td[^>]*>(.*?)</td></tr>",
                          table.group(1), re.S)
        for key, value in facts.items():
            (label, cell), = [r for r in rows if 'data-key="%s"' % key in r[1]]
            label = html.unescape(label)
            line = [s for s in lines if s == label
                    or s.startswith(label + " ")]
            assert line, (section, key, label)
            if (type(value) not in (int, float) or key.endswith("_us")
                    or key in THIS_CHILD
                    or again["overview"][section][key] != value):
                continue
            shown = re.search(r'data-key="%s"[^>]*>([^<]*)<' % key, cell)
            assert shown.group(1) == str(value), (key, shown.group(1), value)
            assert re.search(r"(^|[ (=])%s($|[ ,;:)])" % re.escape(str(value)),
                             line[0][len(label):]), (key, value, line[0])
    # The children: a column of the HTML's table (FILL's KEY_max is its
    # KEY's), whose head is in the text's head line.
    heads = dict((k, html.unescape(h)) for k, h in re.findall(
        r'<th[^>]* data-key="(\w+)">([^<]*)</th>', re.search(
            r'<table class="data" id="children">(.*?)</table>',
            pages["html"], re.S).group(1)))
    head_line, = [s for s in lines if s.startswith("slot ")]
    assert doc["children"]
    for child in doc["children"]:
        for key in child:
            if key == "counters":
                continue
            base = key[:-len("_max")] if key.endswith("_max") else key
            assert base in heads, key
            assert heads[base] in head_line, (key, head_line)
    assert set(heads) <= set(doc["children"][0]), heads


def test_callers_and_callees(profiled):
    doc = profiled.profile(view="callers", func="fixture_spin_a")
    (entry,) = doc["callers"]
    names = [e["name"] for e in entry["edges"]]
    assert names == ["do_spin"], names
    doc = profiled.profile(view="callees", func="do_spin")
    edges = {e["name"]: e["samples"] for e in doc["callees"][0]["edges"]}
    assert edges["fixture_spin_a"] > edges["fixture_spin_b"] > 0
    doc = profiled.profile(view="callers", func="no_such_function")
    assert doc["callers"] == []


def test_tree_has_the_fixture_path_and_prunes(profiled):
    doc = profiled.profile(view="tree")
    path, node = [], doc["tree"]
    # Follow the biggest child down to a leaf.
    while node["children"]:
        node = max(node["children"], key=lambda n: n["value"])
        path.append(node["name"])
    assert path[0] == "/spin" and "fixture_handler" in path, path
    assert doc["pruned"] == 0
    # fixture_spin_b has a third of the samples: under 50 %, pruned.
    pruned = profiled.profile(view="tree", min="50")
    assert pruned["pruned"] > 0

    def walk(n):
        yield n
        for k in n["children"]:
            yield from walk(k)
    total = pruned["tree"]["value"]
    assert all(n["value"] * 100 >= 50 * total for n in walk(pruned["tree"]))
    assert "fixture_spin_b" not in [n["name"] for n in walk(pruned["tree"])]


SORTS = {
    "self": (lambda f: -f["self_ms"]),
    "cumulative": (lambda f: -f["cum_ms"]),
    "name": (lambda f: f["name"]),
}


@pytest.mark.parametrize("key", ["self", "cumulative", "name", "file",
                                 "tottime", "cumtime"])
def test_sorting_orders_rows(profiled, key):
    rows = profiled.profile(sort=key)["functions"]
    assert len(rows) > 5
    if key in ("self", "tottime"):
        vals = [r["self_ms"] for r in rows]
        assert vals == sorted(vals, reverse=True)
    elif key in ("cumulative", "cumtime"):
        vals = [r["cum_ms"] for r in rows]
        assert vals == sorted(vals, reverse=True)
    elif key == "name":
        vals = [r["name"].encode() for r in rows]
        assert vals == sorted(vals)
    else:
        vals = [((r["file"] or r["object"]).encode(), r["line"])
                for r in rows]
        assert vals == sorted(vals)
    # The text table follows the same order.
    text = profiled.get("/reqprof", params={"view": "functions",
                                            "format": "text", "sort": key,
                                            "limit": "0"}).text
    names = [ln.split()[6] for ln in text.splitlines()
             if re.match(r"^ *\d+ +[\d.]+% ", ln)]
    assert names == [r["name"] for r in rows]


def test_strip_dirs(profiled):
    full = profiled.profile()["functions"]
    stripped = profiled.profile(strip="1")["functions"]
    assert any(f["object"].startswith("/") for f in full)
    assert all("/" not in f["object"] for f in stripped), \
        [f["object"] for f in stripped if "/" in f["object"]]
    fix = [f for f in stripped if f["name"] == "fixture_spin_a"][0]
    assert fix["object"] == "mod_reqprof_fixture.so"


def test_restrictions(profiled):
    every = profiled.profile()
    n = every["functions_total"]
    assert len(every["functions"]) == n and n > 10
    assert len(profiled.profile(limit="3")["functions"]) == 3
    half = profiled.profile(fraction="0.5")["functions"]
    assert len(half) == int(n * 0.5 + 0.5)
    assert [f["name"] for f in half] == [f["name"] for f in
                                        every["functions"][:len(half)]]
    fix = profiled.profile(match="^fixture_spin")["functions"]
    assert sorted(f["name"] for f in fix) == ["fixture_spin_a",
                                              "fixture_spin_b"]
    # pstats' order: the regex first, then the fraction, then the count.
    one = profiled.profile(match="^fixture_", fraction="0.5", limit="1")
    assert len(one["functions"]) == 1
    assert one["functions"][0]["name"].startswith("fixture_")


def test_focus_on_one_uri(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 499))
    drive(srv, "/ua/spin?a=40", 10, 2)
    drive(srv, "/ub/spin?b=40", 10, 2)
    a = srv.profile(uri="/ua/spin")
    assert a["focus"] == "/ua/spin"
    assert [u["uri"] for u in a["uris"]] == ["/ua/spin"]
    assert func(a, "fixture_spin_a") and not func(a, "fixture_spin_b")
    text = srv.get("/reqprof", params={"view": "requests", "format": "text",
                                       "uri": "/ub/spin"}).text
    assert "/ub/spin" in text and "/ua/spin" not in text


def test_requests_view_has_exact_totals(profiled):
    doc = profiled.profile(view="requests")
    (u,) = [u for u in doc["uris"] if u["uri"] == "/spin"]
    assert u["requests"] == 20 and u["cpu_us"] > 0 and u["wall_us"] > 0
    assert u["max_wall_us"] * 20 >= u["wall_us"]
    assert len(doc["recent"]) >= 1
    r = doc["recent"][0]
    assert r["method"] == "GET" and r["uri"] == "/spin" and r["status"] == 200


# ---------------------------------------------------------------- escaping

HOSTILE = ["/%3Cscript%3Ealert(1)%3C/script%3E", "/x%ff%fe%22'%3E"]


def test_hostile_uris_are_escaped_in_every_view_and_format(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("real", 999))
    for path in HOSTILE:
        for _ in range(3):
            srv.fetch(path)
    uris = [u["uri"] for u in srv.profile(view="requests")["uris"]]
    assert "/<script>alert(1)</script>" in uris, uris
    assert "/x\\xFF\\xFE\"'>" in uris, uris
    for view in VIEWS:
        for fmt in PAGE_FORMATS:
            status, headers, body = srv.fetch(
                "/reqprof?view=%s&format=%s" % (view, fmt)
                + ("&func=fixture_handler" if view.startswith("call")
                   else ""))
            assert status == 200, (view, fmt)
            text = body.decode("utf-8")     # valid UTF-8 throughout
            # Text is text/plain with nosniff: markup is inert there; what
            # must not pass is a control byte or invalid UTF-8.
            assert "\x1b" not in text and "\x00" not in text
            if fmt != "text":
                assert "<script>alert" not in text, (view, fmt)
                assert "\"'>" not in text, (view, fmt)
            if fmt == "html":
                assert "'nonce-" in headers["Content-Security-Policy"]
            if fmt == "json":
                json.loads(text)
    # The exports too: valid UTF-8 without control bytes, and no live
    # markup in the SVG, which a browser runs.  (A 404 is quick: whether
    # it got samples, and so stacks in the exports, is up to the clock.)
    sampled = [u["uri"] for u in srv.profile(view="requests")["uris"]
               if u["samples"]]
    for fmt in ("svg", "collapsed", "callgrind", "dot"):
        status, headers, body = srv.fetch("/reqprof?format=" + fmt)
        assert status == 200, fmt
        text = body.decode("utf-8")
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text), fmt
        if fmt == "svg":
            assert "<script>alert" not in text
        if fmt == "collapsed":
            for uri in sampled:
                assert any(line.startswith(uri + ";")
                           for line in text.splitlines()), uri


# ------------------------------------------------------------- .htaccess

def test_handler_named_in_htaccess_is_refused(httpd, mpm):
    site = os.path.join(OUT, "htaccess_site_%s" % mpm)
    os.makedirs(os.path.join(site, "prof"), exist_ok=True)
    with open(os.path.join(site, "prof", ".htaccess"), "w") as f:
        f.write("SetHandler reqprof\n")
    srv = httpd(mpm=mpm, conf="""
ReqProf On
Alias /site "%s"
<Directory "%s">
    AllowOverride FileInfo
    Require all granted
</Directory>
<Location /reqprof>
    SetHandler reqprof
</Location>
""" % (site, site), expected_log=[r"reqprof\(1102\)"])
    r = srv.get("/site/prof/")
    assert r.status_code == 403
    assert "only be enabled with SetHandler in the server configuration" \
        in r.text
    assert "reqprof(1102)" in srv.new_log()
    # Named in the server configuration, the page works.
    assert srv.get("/reqprof?format=text").status_code == 200
