"""The page of kept requests on a real httpd, every MPM: the requests view
lists them newest first with why each was kept, filters and sorts them;
each links to its own page, whose timeline places its work in time and
whose comparison with its URI's typical request marks what was slow;
req= turns every view and export into that one request's; a malformed id
is a 400 and an unknown one a 404, each with one line; credentials never
show; the overview counts the requests kept and those that found no room.
And the request's page in headless chromium: no console error, the
timeline and the differential flame graph drawn."""

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import console_errors
from httpd_env import profiling_conf

KEEP = "ReqProfKeep recent 64 slowest 4 errors 8\n"
ID = re.compile(r"^[A-Za-z0-9@_.:-]{1,47}$")
SECRET = "s3cr3t-value-never-shown"


def conf(extra=""):
    # A CPU timer fast enough that a few ms of spinning are samples.
    return profiling_conf("cpu", 1000, extra=KEEP + extra)


def get(srv, query, status=200):
    r = srv.get("/reqprof?" + query)
    assert r.status_code == status, (query, r.status_code, r.text[:300])
    return r


def kept(srv, **params):
    params.setdefault("view", "requests")
    return srv.profile(**params)


def work(srv):
    """Typical /x/spin requests (mostly spin_a), one slow one that is
    mostly spin_b, a failed one; returns the slow one's id."""
    for _ in range(6):
        assert srv.get("/x/spin?a=40&b=4").status_code == 200
    assert srv.get("/x/spin?a=12&b=120&slow=1",
                   headers={"Cookie": "sid=" + SECRET,
                            "Authorization": "Bearer " + SECRET,
                            "X-Api-Key": SECRET}).status_code == 200
    assert srv.get("/x/fail?ms=5").status_code == 500
    slow = [k for k in kept(srv)["kept"] if "slow=1" in k["query"]]
    assert len(slow) == 1, kept(srv)["kept"]
    return slow[0]["id"]


def rows(text, table_id):
    m = re.search(r'<table[^>]*id="%s".*?<tbody>(.*?)</tbody>' % table_id,
                  text, re.S)
    assert m, table_id
    return re.findall(r"<tr[^>]*data-id=\"([^\"]+)\"", m.group(1))


# ------------------------------------------------------------------ list

def test_list_of_kept_requests(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf())
    slow_id = work(srv)
    prof = kept(srv)
    ks = prof["kept"]
    assert len(ks) == 8 and prof["kept_held"] == 8, ks
    times = [k["time_us"] for k in ks]
    assert times == sorted(times, reverse=True)
    assert len({k["id"] for k in ks}) == 8
    for k in ks:
        assert ID.match(k["id"]), k
        assert k["method"] == "GET" and "recent" in k["reasons"], k
    fail = [k for k in ks if k["uri"] == "/x/fail"]
    assert len(fail) == 1 and fail[0]["status"] == 500, ks
    assert "error" in fail[0]["reasons"]
    slow = [k for k in ks if k["id"] == slow_id][0]
    assert "slow" in slow["reasons"] and slow["wall_us"] > 100000, slow
    assert slow["query"] == "a=12&b=120&slow=1"
    # (CPU-clock timers tick with the kernel: 250 Hz or more.)
    assert slow["samples"] >= 15 and slow["cpu_us"] > 100000, slow
    assert prof["counters"]["kept"] == 8
    assert prof["counters"]["kept_full"] == 0

    # The html list: the same rows, each a link to its page.
    text = get(srv, "view=requests").text
    assert rows(text, "kept") == [k["id"] for k in ks]
    assert re.search(r'<a href="/reqprof\?view=request&amp;[^"]*&amp;id=%s">'
                     r"/x/spin\?a=12&amp;b=120&amp;slow=1</a>"
                     % re.escape(slow_id), text)
    assert 'id="uris"' in text and 'id="recent"' in text
    assert '<span data-key="kept">8</span>' in text
    # The text list too.
    text = get(srv, "view=requests&format=text").text
    assert "kept requests: 8 shown of 8 held; 8 kept" in text
    assert slow_id + "  /x/spin?a=12&b=120&slow=1\n" in text


def test_list_filters_and_order(httpd):
    srv = httpd(conf=conf())
    slow_id = work(srv)
    ids = lambda **p: [k["id"] for k in kept(srv, **p)["kept"]]  # noqa
    fail = ids(status="5xx")
    assert len(fail) == 1 and fail == ids(status="500")
    assert ids(status="4xx") == []
    spins = ids(uri_match="^/x/spin$")
    assert len(spins) == 7 and fail[0] not in spins
    assert ids(min_ms="100") == [slow_id]
    by_wall = kept(srv, order="wall")["kept"]
    walls = [k["wall_us"] for k in by_wall]
    assert walls == sorted(walls, reverse=True) and by_wall[0]["id"] \
        == slow_id
    walls = [k["wall_us"] for k in kept(srv, order="-wall")["kept"]]
    assert walls == sorted(walls)
    # The html says which column is sorted and keeps the filters in its
    # links.
    text = get(srv, "view=requests&order=wall&uri_match=spin&min_ms=1").text
    assert 'data-col="wall" aria-sort="descending"' in text
    assert rows(text, "kept")[0] == slow_id
    assert re.search(r"uri_match=spin&amp;strip=0&amp;id=%s&amp;"
                     r"min_ms=1&amp;order=wall\"" % re.escape(slow_id), text)
    # An empty form field is no filter.
    assert len(ids(status="", min_ms="", uri_match="")) == 8


@pytest.mark.parametrize("query,reason", [
    ("status=6xx", "status: '6xx' is not a status class"),
    ("status=abc", "status: 'abc' is not a status class"),
    ("order=nope", "order: unknown column 'nope'"),
    ("min_ms=-1", "min_ms: min_ms '-1' is not a number"),
    ("uri_match=(", "uri_match: "),
    ("id=a%20b&view=request", "id: 'a b' is not a request id"),
    ("id=" + "x" * 48 + "&view=request", "id: '" + "x" * 48),
    ("req=%3Cscript%3E", "req: '<script>' is not a request id"),
    ("view=request", "view=request needs id=ID"),
    ("view=functions&id=abc", "id= goes with view=request"),
    ("view=request&id=a&req=b", "id= and req= name different requests"),
    ("req=abc&seconds=2&format=collapsed", "seconds= and req= do not go"),
])
def test_bad_parameters_are_400(httpd, query, reason):
    srv = httpd(conf=conf())
    r = get(srv, query, 400)
    assert r.text.startswith(reason), r.text
    assert r.text.count("\n") == 1, r.text
    assert r.headers["Content-Type"].startswith("text/plain")


def test_unknown_request_is_404(httpd):
    srv = httpd(conf=conf())
    work(srv)
    for query in ("view=request&id=no-such-id",
                  "view=functions&req=no-such-id",
                  "format=pprof&req=no-such-id"):
        r = get(srv, query, 404)
        assert r.text.startswith("no kept request has the id no-such-id"), \
            r.text
        assert r.text.count("\n") == 1
    status, _, body = srv.fetch("/reqprof?view=request&id=no-such-id",
                                method="HEAD")
    assert status == 404 and body == b""
    # Gone after a clear.
    some = kept(srv)["kept"][0]["id"]
    get(srv, "view=request&id=" + some)
    assert srv.control("clear").status_code == 303
    get(srv, "view=request&id=" + some, 404)


# --------------------------------------------------------------- request

def spans_of(prof, name):
    return [s for s in prof["timeline"]["spans"] if name in s["stack"]]


def test_request_page(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf())
    slow_id = work(srv)

    prof = srv.profile(view="request", id=slow_id)
    req = prof["request"]
    assert req["id"] == slow_id and req["uri"] == "/x/spin"
    assert req["query"] == "a=12&b=120&slow=1" and req["status"] == 200
    assert "slow" in req["reasons"]
    # The model is that request's alone.
    assert prof["counters"]["requests"] == 1
    assert [u["uri"] for u in prof["uris"]] == ["/x/spin"]
    assert abs(prof["samples"] - req["samples"]) <= req["samples_lost"]
    # Its timeline: in time order, spin_a's work before spin_b's, and
    # spin_b's where the request spent most of its time.
    spans = prof["timeline"]["spans"]
    ends = [s["end_us"] for s in spans]
    assert ends == sorted(ends), ends
    a, b = spans_of(prof, "fixture_spin_a"), spans_of(prof, "fixture_spin_b")
    assert a and b, spans
    assert max(s["end_us"] for s in a) <= min(s["start_us"] for s in b) \
        + 2000, (a, b)
    assert sum(s["samples"] for s in b) > 4 * sum(s["samples"] for s in a)
    assert prof["timeline"]["us"] >= req["wall_ms"] * 1000 - 1
    # Compared with typical (mostly spin_a): spin_b stands out.
    diff = prof["diff"]
    assert diff["typical_requests"] == 7, diff
    more = {f["name"] for f in diff["frames"] if f["more"]}
    less = {f["name"] for f in diff["frames"] if f["less"]}
    assert "fixture_spin_b" in more and "fixture_spin_a" in less, diff
    top = diff["frames"][0]
    assert top["delta"] == max(f["delta"] for f in diff["frames"])

    text = get(srv, "view=request&id=" + slow_id).text
    for part in ('id="timeline"', 'id="diff-flame"', 'id="flame"',
                 'id="functions"', 'id="tree"', 'id="diff-top"'):
        assert text.count(part) == 1, part
    # The frames that are more than typical, marked in the graph and in
    # the table.
    m = re.search(r'<svg[^>]*id="diff-flame".*?</svg>', text, re.S)
    more = re.findall(r'<g class="f more"[^>]*data-delta="([0-9.]+)">'
                      r'<title>([^\n(]+)', m.group(0))
    assert "fixture_spin_b" in [n.strip() for _, n in more], more
    assert all(float(d) >= 5 for d, _ in more)
    assert re.search(r'<tr class="more"><td class="fn">fixture_spin_b</td>',
                     text)
    # The timeline's lane: spans on the CPU (what a CPU timer samples).
    lane = re.findall(r'<rect class="lane (on|off)" data-state="(\w+)"',
                      text)
    assert ("on", "cpu") in lane, lane
    # The other formats of the same view.
    t = get(srv, "view=request&format=text&id=" + slow_id).text
    assert "\nid               %s\n" % slow_id in t
    assert "fixture_spin_b" in t and "compared with typical" in t


def test_req_makes_every_view_and_export_one_requests(httpd):
    srv = httpd(conf=conf())
    slow_id = work(srv)
    one = srv.profile(view="request", id=slow_id)["request"]

    funcs = srv.profile(view="functions", req=slow_id)
    assert funcs["counters"]["requests"] == 1
    assert funcs["samples"] == srv.profile(view="request",
                                           id=slow_id)["samples"]
    text = get(srv, "view=tree&req=" + slow_id).text
    assert 'id="req-focus"' in text and "/x/fail" not in text
    # The page's links keep to the request.
    assert "format=pprof&amp;req=%s" % slow_id in text or \
        "req=%s&amp;format=pprof" % slow_id in text
    folded = get(srv, "format=collapsed&req=" + slow_id).text
    lines = folded.strip().split("\n")
    assert all(line.startswith("/x/spin;") for line in lines), lines
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) \
        == funcs["samples"]
    assert "fixture_spin_b" in folded
    for fmt in ("pprof", "callgrind", "dot", "svg"):
        r = get(srv, "format=%s&req=%s" % (fmt, slow_id))
        assert r.content, fmt
    assert one["samples"] >= funcs["samples"]


def test_credentials_never_show(httpd):
    srv = httpd(conf=conf("ReqProfRedact X-Api-Key\n"))
    slow_id = work(srv)
    for fmt in ("html", "text", "json"):
        for view in ("request&id=" + slow_id, "requests",
                     "functions&req=" + slow_id):
            body = get(srv, "view=%s&format=%s" % (view, fmt)).text
            assert SECRET not in body, (view, fmt)
    # Nor any export of the request, nor the whole profile's.
    for fmt in ("collapsed", "pprof", "callgrind", "dot", "svg",
                "speedscope"):
        for q in ("format=%s&req=%s" % (fmt, slow_id), "format=" + fmt):
            assert SECRET.encode() not in get(srv, q).content, q
    prof = srv.profile(view="request", id=slow_id)
    headers = {h["name"].lower(): h["value"] for h in
               prof["request"]["headers"]}
    for name in ("cookie", "authorization", "x-api-key"):
        assert headers[name] == "[redacted]", headers
    text = get(srv, "view=request&id=" + slow_id).text
    assert "<td>Cookie</td><td>[redacted]</td>" in text


def test_overview_counts_kept_and_full(httpd):
    # One record per child (a 64K region keeps one): the slowest rule of
    # a second URI finds no room.
    srv = httpd(mpm="prefork", conf=profiling_conf(
        "cpu", 1000, extra="ReqProfKeep recent 0 slowest 1 errors 0\n"
                           "ReqProfMemory 64K\n"))
    for path in ("/x/spin?a=1", "/y/spin?a=1", "/z/spin?a=1") * 4:
        srv.get(path)
    over = srv.profile(view="overview")
    store = over["overview"]["store"]
    assert store["kept"] >= 1 and store["kept_full"] >= 1, store
    assert store["kept"] == over["counters"]["kept"]
    assert store["kept_full"] == over["counters"]["kept_full"]
    text = get(srv, "view=overview").text
    assert re.search(r'<span data-key="kept_full" class="bad">\d+</span> '
                     r"requests could not be kept for lack of room", text)
    text = get(srv, "view=overview&format=text").text
    assert re.search(r"\nkept requests +\d+ kept whole; \d+ requests could "
                     r"not be kept for lack of room\n", text)
    text = get(srv, "view=requests").text
    assert re.search(r'<span data-key="kept_full" class="bad">[1-9]', text)


# --------------------------------------------------------------- browser

def test_request_page_in_browser(httpd, browser):
    srv = httpd(conf=conf())
    slow_id = work(srv)
    browser.get(srv.url("/reqprof?view=requests"))
    # The list's link opens the request's page.
    browser.find_element(By.CSS_SELECTOR, 'tr[data-id="%s"] td.fn a'
                         % slow_id).click()
    WebDriverWait(browser, 10).until(
        lambda d: "view=request" in d.current_url
        and d.execute_script("return document.readyState") == "complete")
    assert "id=" + slow_id in browser.current_url
    assert not console_errors(browser)
    # Both graphs and the timeline are drawn, each flame graph's own
    # script ran (its zoom hangs on its svg).
    for sel in ("svg#timeline .lane", "svg#timeline g.t",
                "svg#diff-flame g.f.more", "svg#flame g.f"):
        assert browser.find_elements(By.CSS_SELECTOR, sel), sel
    for svg in ("flame", "diff-flame"):
        assert browser.execute_script(
            "return typeof document.getElementById('%s').reqprofZoom"
            % svg) == "function", svg
    # Zooming one graph leaves the other as it was.
    browser.execute_script(
        "var s = document.getElementById('diff-flame');"
        "s.reqprofZoom(s.querySelector('g.f.more'));")
    assert browser.find_element(By.ID, "diff-flame-reset") \
        .get_attribute("opacity") == "1"
    assert browser.find_element(By.ID, "flame-reset") \
        .get_attribute("opacity") == "0.4"
    # The timeline spans the page's width and its boxes are visible.
    box = browser.find_element(By.CSS_SELECTOR, "svg#timeline")
    assert box.size["width"] > 600 and box.size["height"] > 80
    title = browser.find_element(By.CSS_SELECTOR, "svg#timeline .lane title")
    assert "/x/spin" in title.get_attribute("textContent")
    assert not console_errors(browser)
