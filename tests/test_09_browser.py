"""The page in a real browser (headless chromium): sorting by a column,
stripping directories, opening the call tree level by level, clearing
the profile, and a form posted from another origin that must change
nothing.  No console errors anywhere: the CSP would report an inline
style or script it refused there.  Event MPM only: what is tested here
is the page, not the server."""

import functools
import http.server
import os
import re
import threading

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import console_errors
from httpd_env import OUT, profiling_conf as conf

SHOTS = os.path.join(OUT, "screenshots")


def wait(drv, cond, timeout=10):
    return WebDriverWait(drv, timeout).until(lambda d: cond(d))


def load(drv, url):
    drv.get(url)
    wait(drv, lambda d: d.execute_script("return document.readyState")
         == "complete")


def shown(drv, element):
    """Whether ELEMENT is rendered.  Selenium's is_displayed() misses the
    inside of a closed <details> (chromium hides it with content-visibility),
    checkVisibility() does not."""
    return drv.execute_script("return arguments[0].checkVisibility();",
                              element)


def names(drv):
    return [td.text for td in drv.find_elements(
        By.CSS_SELECTOR, "#functions tbody td.fn > a:first-child")]


def files(drv):
    return [td.text for td in drv.find_elements(
        By.CSS_SELECTOR, "#functions tbody td.file")]


def click_and_wait(drv, element):
    """Click a link or button that loads a new page; wait for it."""
    old = drv.find_element(By.TAG_NAME, "html")
    element.click()
    wait(drv, lambda d: _stale(old))
    wait(drv, lambda d: d.execute_script("return document.readyState")
         == "complete")


def _stale(element):
    try:
        element.tag_name
        return False
    except Exception:
        return True


def no_console_errors(drv, where):
    errors = console_errors(drv)
    assert not errors, (where, errors)


class ForeignSite:
    """A second origin: python's http.server on another port, serving
    one page from tests/out."""

    def __init__(self, root):
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass
        os.makedirs(root, exist_ok=True)
        self.root = root
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Quiet, directory=root))
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def put(self, name, text):
        with open(os.path.join(self.root, name), "w") as f:
            f.write(text)
        return "http://127.0.0.1:%d/%s" % (self.port, name)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_page_in_a_browser(httpd, browser):
    drv = browser
    srv = httpd(mpm="event", conf=conf("cpu", 250))
    assert srv.ab("/spin?a=60&b=30", 16, 2)[1] == 0
    assert srv.ab("/recurse?depth=12&ms=20", 6, 2)[1] == 0

    # The functions view, as an operator first sees it.
    load(drv, srv.url("/reqprof?view=functions"))
    assert int(drv.find_element(By.ID, "total-samples").text) > 50
    before = names(drv)
    assert before[0] == "fixture_spin_a", before
    os.makedirs(SHOTS, exist_ok=True)
    drv.save_screenshot(os.path.join(SHOTS, "functions.png"))
    no_console_errors(drv, "functions")

    # Sort by name: a header click, the rows reorder.
    click_and_wait(drv, drv.find_element(
        By.CSS_SELECTOR, "#functions th[data-key=name] a"))
    after = names(drv)
    assert after == sorted(after) and after != before, after
    th = drv.find_element(By.CSS_SELECTOR, "#functions th[data-key=name]")
    assert th.get_attribute("aria-sort") == "ascending"
    assert "sort=name" in drv.current_url
    no_console_errors(drv, "sorted")

    # Strip directories, and back.
    assert any("/" in f for f in files(drv)), files(drv)
    click_and_wait(drv, drv.find_element(By.ID, "strip-toggle"))
    assert files(drv) and all("/" not in f for f in files(drv)), files(drv)
    assert "strip=1" in drv.current_url
    assert names(drv) == sorted(names(drv))     # the sort is kept
    click_and_wait(drv, drv.find_element(By.ID, "strip-toggle"))
    assert any("/" in f for f in files(drv))
    no_console_errors(drv, "strip")

    # The call tree: closed by the script's button, then opened by hand
    # three levels down.
    load(drv, srv.url("/reqprof?view=tree"))
    drv.find_element(By.ID, "collapse-all").click()
    level = "#tree > details.node"
    top = [d for d in drv.find_elements(By.CSS_SELECTOR, level)
           if "/spin" in d.find_element(By.TAG_NAME, "summary").text]
    assert top, drv.find_element(By.ID, "tree").text[:500]
    node = top[0]
    path = []
    for depth in range(3):
        summary = node.find_element(By.XPATH, "./summary")
        assert shown(drv, summary)
        kids = node.find_elements(By.XPATH, "./details")
        assert kids and not shown(drv, kids[0].find_element(By.XPATH,
                                                            "./summary"))
        summary.click()
        wait(drv, lambda d: shown(d, kids[0].find_element(By.XPATH,
                                                          "./summary")))
        path.append(summary.find_element(By.CSS_SELECTOR, ".fn").text)
        node = kids[0]
    third = node.find_element(By.XPATH, "./summary")
    text = third.text
    assert shown(drv, third) and text, path
    # Its figures: samples, share, estimated ms, self.
    assert re.search(r"\d+\s+[\d.]+%\s+[\d.]+\s+\d+", text), text
    assert path[0] == "/spin", path
    no_console_errors(drv, "tree")

    # The other views load without errors (flame graph: its own script).
    for view in ("overview", "flame", "requests", "callers", "callees"):
        load(drv, srv.url("/reqprof?view=%s&func=fixture_spin_a" % view
                          if view.startswith("call")
                          else "/reqprof?view=" + view))
        no_console_errors(drv, view)

    # A form on another origin, with a nonce copied from the page, posted
    # by the browser: refused, the profile stays.
    load(drv, srv.url("/reqprof?view=functions"))
    nonce = drv.find_element(
        By.CSS_SELECTOR, "#btn-clear").find_element(
        By.XPATH, "./ancestor::form//input[@name='nonce']").get_attribute(
        "value")
    samples = srv.profile()["counters"]["samples"]
    assert samples > 0
    site = ForeignSite(os.path.join(OUT, "foreign-origin"))
    try:
        url = site.put("attack.html", """<!doctype html><title>x</title>
<form method="post" action="%s">
<input type="hidden" name="nonce" value="%s">
<input type="hidden" name="action" value="clear">
<input type="hidden" name="back" value="?view=functions">
<button id="go">go</button></form>""" % (srv.url("/reqprof"), nonce))
        load(drv, url)
        click_and_wait(drv, drv.find_element(By.ID, "go"))
        assert "refused" in drv.find_element(By.TAG_NAME, "body").text
    finally:
        site.close()
    console_errors(drv)     # the 403 is logged there; not the page's fault
    assert srv.profile()["counters"]["samples"] >= samples

    # Clear, from the page itself: back on the same view, totals at zero.
    load(drv, srv.url("/reqprof?view=functions&sort=cumulative"))
    click_and_wait(drv, drv.find_element(By.ID, "btn-clear"))
    assert "sort=cumulative" in drv.current_url
    assert drv.find_element(By.ID, "total-samples").text == "0"
    assert drv.find_element(By.ID, "total-requests").text == "0"
    no_console_errors(drv, "after clear")
