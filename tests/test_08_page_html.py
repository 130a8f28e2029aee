"""The HTML page on a real httpd: every view shows the fixture's known
functions, every link on it answers, its forms carry what the handler
needs (and work without the page's script), a change from another origin
is refused, and a request-controlled URI stays escaped in every view."""

import html
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit


from httpd_env import profiling_conf as conf

VIEWS = ("overview", "functions", "callers", "callees", "tree", "flame",
         "requests", "explain")
EVIL_PATH = "/%3Cscript%3Ealert(1)%3C/script%3E"
EVIL_URI = "/<script>alert(1)</script>"
EVIL_HTML = "/&lt;script&gt;alert(1)&lt;/script&gt;"
BAD_UTF8_PATH = "/bad%FF%FE/x"
BAD_UTF8_HTML = "/bad\\xFF\\xFE/x"


class Page(HTMLParser):
    """Links, forms (with their fields as a browser would send them) and
    the text of elements with an id."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.links = []
        self.forms = []
        self.ids = {}
        self._form = None
        self._select = None
        self._open_ids = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "form":
            self._form = {"action": a.get("action"), "method":
                          a.get("method", "get"), "id": a.get("id"),
                          "fields": [], "buttons": []}
            self.forms.append(self._form)
        elif self._form is not None and tag == "input" and a.get("name"):
            self._form["fields"].append((a["name"], a.get("value", "")))
        elif self._form is not None and tag == "button":
            self._form["buttons"].append(a)
        elif self._form is not None and tag == "select":
            self._select = a.get("name")
        elif self._select and tag == "option" and "selected" in a:
            self._form["fields"].append((self._select, a.get("value")))
        if "id" in a:
            self._open_ids.append([tag, a["id"], ""])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if tag == "select":
            self._select = None
        if self._open_ids and self._open_ids[-1][0] == tag:
            _, i, text = self._open_ids.pop()
            self.ids[i] = text

    def handle_data(self, data):
        for entry in self._open_ids:
            entry[2] += data

    def form_with(self, button_id):
        for f in self.forms:
            if any(b.get("id") == button_id for b in f["buttons"]):
                return f
        raise AssertionError("no form with button %s" % button_id)


def page(srv, query):
    r = srv.get("/reqprof" + query)
    assert r.status_code == 200, (query, r.status_code, r.text[:300])
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    check_safe(r)
    return r.text


def check_safe(r):
    """What every page must hold: the CSP's nonce on the page's own style
    and script, nothing inline that the CSP would refuse."""
    text = r.text
    m = re.search(r"style-src 'nonce-([A-Za-z0-9+/=]+)'",
                  r.headers["Content-Security-Policy"])
    assert m, r.headers["Content-Security-Policy"]
    nonce = m.group(1)
    for tag in re.findall(r"<(?:style|script)\b[^>]*>", text):
        assert 'nonce="%s"' % nonce in tag, tag
    assert ' style="' not in text
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", text), \
        re.search(r"<[^>]*\son[a-z]+\s*=", text).group(0)
    assert "javascript:" not in text
    assert text.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in text


def rows(text, table_id):
    """The <tr> bodies of a table's tbody."""
    m = re.search(r'<table[^>]*id="%s".*?<tbody>(.*?)</tbody>' % table_id,
                  text, re.S)
    assert m, table_id
    return re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S)


def row_names(text):
    """Function names of the functions table, in order."""
    return [html.unescape(re.search(r'<td class="fn"><a [^>]*>(.*?)</a>',
                                    r).group(1))
            for r in rows(text, "functions")]


def cells(row):
    return [html.unescape(re.sub(r"<[^>]*>", "", c))
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def href_of(text, element_id):
    m = re.search(r'<a href="([^"]*)"[^>]* id="%s"' % element_id, text)
    assert m, element_id
    return html.unescape(m.group(1))


def spin(srv, n=20):
    assert srv.ab("/spin?a=60&b=30", n, 2)[1] == 0


def samples(srv, query="?view=overview"):
    return int(Page(page(srv, query)).ids["total-samples"])


# ---------------------------------------------------------------------


def test_every_view_shows_the_profile(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 250))
    spin(srv)
    seen_links = set()

    text = page(srv, "?view=functions&sort=self&limit=0")
    names = row_names(text)
    assert names.index("fixture_spin_a") < names.index("fixture_spin_b")
    p = Page(text)
    seen_links.update(p.links)
    # The name links to its callers; follow it for the caller's name.
    callers = [h for h in p.links if "view=callers" in h
               and h.endswith("func=fixture_spin_a")]
    assert callers, p.links[:20]
    text = page(srv, callers[0][len("/reqprof"):])
    p = Page(text)
    seen_links.update(p.links)
    assert "fixture_spin_a" in text and "Called by" in text
    caller = [html.unescape(m) for m in
              re.findall(r'<td class="fn"><a href="[^"]*view=callers[^"]*"'
                         r'>(.*?)</a>', text)]
    assert caller, text
    # ... whose callees include the spinner.
    text = page(srv, "?view=callees&func=" + caller[0])
    seen_links.update(Page(text).links)
    assert ">fixture_spin_a</a>" in text

    for view in VIEWS:
        query = "?view=" + view
        if view == "explain":
            query = "?explain=/spin"
        text = page(srv, query)
        p = Page(text)
        seen_links.update(p.links)
        # Each view links to every other, and to the other formats.
        for other in VIEWS:
            assert "nav-" + other in text
        assert any("format=text" in h for h in p.links)
        assert any("format=json" in h for h in p.links)
        if view != "explain":
            assert int(p.ids["total-samples"]) > 50, p.ids
        if view in ("tree", "flame"):
            assert "fixture_spin_a" in text and "fixture_spin_b" in text
        if view == "tree":
            assert '<details class="node uri" open><summary><span ' \
                   'class="fn">/spin</span>' in text
        if view == "requests":
            assert ">/spin</a>" in text
            assert len(rows(text, "recent")) >= 20
        if view == "overview":
            acc = p.ids["accounting"]
            t, s, b, u, o = map(int, re.findall(r"\d+", acc))
            assert t == s + b + u + o, acc
            assert len(rows(text, "children")) >= 1
            assert "^/reqprof" in text
        if view == "explain":
            assert "profiled: no exclude pattern matches" in text

    # Every link answers, the exports too.
    for link in sorted(seen_links):
        u = urlsplit(link)
        assert u.path == "/reqprof" and not u.netloc, link
        r = srv.get(link)
        assert r.status_code == 200, (link, r.status_code, r.text[:200])
    exports = [h for h in seen_links if "format=" in h
               and "format=text" not in h and "format=json" not in h]
    assert {re.search(r"format=(\w+)", h).group(1) for h in exports} >= {
        "svg", "collapsed", "pprof", "callgrind", "dot"}


def test_sort_restrict_and_strip(httpd):
    srv = httpd(mpm="event", conf=conf("cpu", 250))
    spin(srv)
    names = row_names(page(srv, "?view=functions&sort=name&limit=0"))
    assert names == sorted(names) and len(names) > 5, names
    for key, col in (("self", 0), ("cumulative", 3)):
        text = page(srv, "?view=functions&limit=0&sort=" + key)
        figures = [int(cells(r)[col]) for r in rows(text, "functions")]
        assert figures == sorted(figures, reverse=True), (key, figures)
        assert row_names(text) != names

    text = page(srv, "?view=functions&sort=self&limit=1")
    assert row_names(text) == ["fixture_spin_a"]
    assert re.search(r"showing 1 of \d+ functions, restricted by at most 1 "
                     r"rows", text)
    text = page(srv, "?view=functions&match=%5Efixture_spin_&limit=0")
    assert sorted(row_names(text)) == ["fixture_spin_a", "fixture_spin_b"]
    assert "names matching <code>^fixture_spin_</code>" in text

    # Strip dirs: the file column loses its directories, and the toggle
    # link goes back.
    def files(t):
        return [html.unescape(re.search(r'<td class="file">(.*?)</td>',
                                        r).group(1))
                for r in rows(t, "functions")]
    full = files(page(srv, "?view=functions&limit=0&strip=0"))
    assert any("/" in f for f in full), full
    text = page(srv, "?view=functions&limit=0&strip=1")
    assert all("/" not in f for f in files(text)), files(text)
    assert "strip=0" in href_of(text, "strip-toggle")
    assert "strip=1" in href_of(page(srv, "?view=functions&strip=0"),
                                "strip-toggle")

    # The current sort column is marked, its header links to the others.
    text = page(srv, "?view=functions&sort=cumtime")
    assert re.search(r'<th class="num sorted" data-col="cum" '
                     r'data-key="cumulative" aria-sort="descending"', text)


def test_forms_work_without_the_script(httpd):
    """A browser without the page's script sends every field, empty or
    not: each GET form's fields as rendered must still be a valid query."""
    srv = httpd(mpm="event", conf=conf("cpu", 250))
    spin(srv, 8)
    for query in ("?view=functions", "?view=tree", "?view=flame",
                  "?explain=/spin"):
        p = Page(page(srv, query))
        for f in p.forms:
            if f["method"] != "get":
                continue
            fields = list(f["fields"])
            if f["id"] == "focus-form":
                fields = [(k, v or "/spin") for k, v in fields]
            r = srv.get(f["action"], params=fields)
            assert r.status_code == 200, (query, f["id"], fields, r.text)
    text = page(srv, "?view=functions&uri=/spin")
    assert 'id="focus"' in text and "<code>/spin</code>" in text
    assert "uri=" not in href_of(text, "focus-clear")


def test_controls_post_and_refuse_foreign_origin(httpd):
    srv = httpd(mpm="event", conf=conf("cpu", 250))
    spin(srv, 8)
    origin = "http://127.0.0.1:%d" % srv.port
    query = "?view=functions&sort=cumulative&limit=7"
    p = Page(page(srv, query))
    before = int(p.ids["total-samples"])
    assert before > 0
    form = p.form_with("btn-clear")
    fields = dict(form["fields"])
    assert form["method"] == "post" and form["action"] == "/reqprof"
    assert re.fullmatch(r"[0-9a-f]{40}", fields["nonce"]), fields
    assert fields["back"] == "?view=functions&sort=cumulative&limit=7" \
        "&strip=0", fields

    # From another origin: refused, nothing changes.
    r = srv.post("/reqprof", data=dict(fields, action="clear"),
                 headers={"Origin": "http://evil.example"},
                 allow_redirects=False)
    assert r.status_code == 403, r.text
    assert samples(srv) == before

    # Pause, as the page's form posts it: back where we were, paused.
    p = Page(page(srv, query))
    form = p.form_with("btn-pause")
    r = srv.post("/reqprof", data=form["fields"] + [("action", "pause")],
                 headers={"Origin": origin}, allow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["Location"].endswith("/reqprof" + fields["back"]
                                          + "&done=pause")
    p = Page(page(srv, query))
    assert p.ids["state"] == "paused"
    assert "notice" in p.ids
    form = p.form_with("btn-enable")
    r = srv.post("/reqprof", data=form["fields"] + [("action", "enable")],
                 headers={"Origin": origin}, allow_redirects=False)
    assert r.status_code == 303, r.text

    # Frequency and timer, with their own fields.
    p = Page(page(srv, query))
    form = p.form_with("btn-frequency")
    data = [(k, "500" if k == "frequency" else v) for k, v in form["fields"]]
    r = srv.post("/reqprof", data=data + [("action", "frequency")],
                 headers={"Origin": origin}, allow_redirects=False)
    assert r.status_code == 303, r.text
    p = Page(page(srv, query))
    assert p.ids["hz"] == "500"
    assert int(p.ids["total-samples"]) == before

    # Clear: the totals go to zero.
    form = p.form_with("btn-clear")
    r = srv.post("/reqprof", data=form["fields"] + [("action", "clear")],
                 headers={"Origin": origin}, allow_redirects=False)
    assert r.status_code == 303, r.text
    assert samples(srv) == 0
    # The nonce of a page from before the change is no longer good.
    r = srv.post("/reqprof", data=form["fields"] + [("action", "clear")],
                 headers={"Origin": origin}, allow_redirects=False)
    assert r.status_code == 403, r.text

    p = Page(page(srv, query))
    form = p.form_with("btn-timer")
    assert ("timer", "cpu") in form["fields"]
    data = [(k, "real" if k == "timer" else v) for k, v in form["fields"]]
    r = srv.post("/reqprof", data=data + [("action", "timer")],
                 headers={"Origin": origin}, allow_redirects=False)
    assert r.status_code == 303, r.text
    p = Page(page(srv, query))
    assert p.ids["timer-now"] == "real"
    assert ("timer", "real") in p.form_with("btn-timer")["fields"]


def test_hostile_uris_stay_escaped_in_every_view(httpd):
    srv = httpd(mpm="event", conf=conf("real", 1000))
    spin(srv, 4)
    # 404s, quick: many of them so that some are sampled.
    for path in (EVIL_PATH, BAD_UTF8_PATH):
        srv.ab(path, 1500, 4)
    prof = srv.profile()
    uris = {u["uri"]: u for u in prof["uris"]}
    assert EVIL_URI in uris and uris[EVIL_URI]["requests"] >= 1500, uris

    queries = ["?view=%s" % v for v in VIEWS if v != "explain"]
    queries += ["?view=functions&uri=" + EVIL_PATH,
                "?view=tree&uri=" + EVIL_PATH,
                "?view=requests&uri=" + EVIL_PATH,
                "?explain=" + EVIL_PATH.replace("%", "%25")]
    evil = srv.profile(uri=EVIL_URI)
    outer = [s["frames"][1] for s in evil["stacks"] if len(s["frames"]) > 1]
    if outer:
        # A function name may hold a space ("[off CPU]", C++ signatures).
        queries.append("?view=callers&func=" + quote(outer[0], safe=""))
    for query in queries:
        status, headers, body = srv.fetch("/reqprof" + query)
        assert status == 200, (query, body[:300])
        text = body.decode("utf-8")
        assert EVIL_URI not in text, query
        assert "<script>alert" not in text, query
        assert b"\xff" not in body, query
        assert "\x1b" not in text
    text = page(srv, "?view=requests")
    assert EVIL_HTML in text and BAD_UTF8_HTML in text
    # The URI links to its functions, URL-escaped inside the href.
    assert "uri=/%3Cscript%3Ealert%281%29%3C/script%3E" in text
    assert "<code>%s</code>" % EVIL_HTML in page(
        srv, "?view=functions&uri=" + EVIL_PATH)
    assert EVIL_HTML in page(srv, "?explain=" + EVIL_PATH.replace("%", "%25"))
    if uris[EVIL_URI]["samples"]:
        assert '<span class="fn">%s</span>' % EVIL_HTML in page(
            srv, "?view=tree")
    if outer:
        assert EVIL_HTML in page(srv, "?view=callers&func="
                                 + quote(outer[0], safe=""))
