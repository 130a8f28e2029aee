"""format=speedscope on a real httpd, read by what reads it: validated
against speedscope's published file format schema
(tests/speedscope_schema.js, with ajv) and opened in speedscope itself (its
release page in headless chromium, loaded as speedscope's command-line
tool loads a file).  Both come from npm into build/npm (make -f apxs.mk
npm, which deps runs).  The fixture's /spin?a=200&b=100 spends twice the
CPU time in fixture_spin_a as in fixture_spin_b, and in that order, so
the whole profile must show the ratio and one request's profile the
order."""

import base64
import json
import os
import re
import shutil
import subprocess
import time

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.support.ui import WebDriverWait

from httpd_env import OUT, TOP, profiling_conf as conf

NPM = os.path.join(TOP, "build", "npm")
VALIDATOR = os.path.join(TOP, "tests", "speedscope_schema.js")
SPEEDSCOPE = os.path.join(NPM, "node_modules", "speedscope", "dist",
                          "release")
SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
SPIN = {"event": "/spin?a=200&b=100", "worker": "/spin?a=100&b=50",
        "prefork": "/spin?a=100&b=50"}


def node():
    path = shutil.which("node")
    if not path:
        pytest.fail("node is missing (make -f apxs.mk deps)")
    if not (os.path.isfile(os.path.join(SPEEDSCOPE,
                                        "file-format-schema.json"))
            and os.path.isdir(os.path.join(NPM, "node_modules", "ajv"))):
        pytest.fail("speedscope and ajv are not in build/npm "
                    "(make -f apxs.mk npm)")
    return path


def validate(*paths):
    """(exit status, output) of the schema check of PATHS."""
    p = subprocess.run([node(), VALIDATOR, NPM] + list(paths),
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def export(srv, name, **params):
    """Fetch format=speedscope into tests/out/<server>/NAME; returns
    (path, document, headers)."""
    path, body, headers = srv.export("speedscope", name, **params)
    return path, json.loads(body.decode("utf-8")), headers


def stacks(doc, profile):
    """PROFILE's samples as lists of frame names, with their weights."""
    names = [f["name"] for f in doc["shared"]["frames"]]
    return [([names[i] for i in s], w)
            for s, w in zip(profile["samples"], profile["weights"])]


def ratio_ok(a, b):
    assert b > 0, (a, b)
    assert 1.6 <= a / b <= 2.5, (a, b, a / b)


def test_validator_refuses_what_is_not_speedscope(tmp_path):
    """The check can fail: a file that breaks the schema, or that speedscope
    could not import, is refused; the smallest right file passes."""
    good = {"$schema": SCHEMA_URL, "shared": {"frames": [{"name": "a"}]},
            "profiles": [{"type": "sampled", "name": "p",
                          "unit": "nanoseconds", "startValue": 0,
                          "endValue": 5, "samples": [[0]],
                          "weights": [5]}]}

    def variant(name, change):
        doc = json.loads(json.dumps(good))
        change(doc)
        path = tmp_path / (name + ".json")
        path.write_text(json.dumps(doc))
        return str(path)

    ok = variant("good", lambda d: None)
    bad = [
        variant("no_weights", lambda d: d["profiles"][0].pop("weights")),
        variant("schema_url",
                lambda d: d.update({"$schema": "https://example.org/"})),
        variant("unit", lambda d: d["profiles"][0].update(unit="ticks")),
        variant("frame_name", lambda d: d["shared"]["frames"][0].pop("name")),
        variant("string_index",
                lambda d: d["profiles"][0].update(samples=[["0"]])),
        variant("more_samples",
                lambda d: d["profiles"][0].update(samples=[[0], [0]])),
        variant("frame_out", lambda d: d["profiles"][0].update(
            samples=[[1]])),
        variant("past_end", lambda d: d["profiles"][0].update(endValue=4)),
    ]
    status, out = validate(ok)
    assert status == 0, out
    for path in bad:
        status, out = validate(path)
        assert status == 1 and "valid (" not in out, (path, out)
    (tmp_path / "broken.json").write_text('{"$schema": ')
    status, out = validate(str(tmp_path / "broken.json"))
    assert status == 1 and "not JSON" in out, out


def test_speedscope_export_of_spin(httpd, mpm):
    srv = httpd(mpm=mpm, conf=conf("cpu", 999))
    assert srv.ab(SPIN[mpm], 40, 2)[1] == 0
    time.sleep(0.5)             # every request drained into the store
    prof = srv.profile()
    assert prof["samples"] > 500

    path, doc, headers = export(srv, "profile.speedscope.json")
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert re.match(r'attachment; filename="reqprof-\d+\.speedscope\.json"$',
                    headers["Content-Disposition"]), headers
    status, out = validate(path)
    assert status == 0, out

    # A profile per URI (only /spin is profiled), opened first.
    assert doc["exporter"].startswith("mod_reqprof ")
    assert doc["activeProfileIndex"] == 0
    assert [p["name"] for p in doc["profiles"]] == ["/spin"], \
        [p["name"] for p in doc["profiles"]]
    total = 0
    for p in doc["profiles"]:
        assert p["unit"] == "nanoseconds" and p["startValue"] == 0
        assert p["endValue"] == sum(p["weights"])
        total += p["endValue"]
    # Every sample of the store, by its weight.
    assert total == prof["counters"]["weight_ns"], \
        (total, prof["counters"]["weight_ns"])

    # The fixture's stack, outermost first below its URI, and the split.
    own = {"fixture_spin_a": 0, "fixture_spin_b": 0}
    seen = False
    for frames, weight in stacks(doc, doc["profiles"][0]):
        assert frames[0] == "/spin", frames
        if frames[-1] in own:
            own[frames[-1]] += weight
            assert "fixture_handler" in frames[1:-1], frames
            seen = True
    assert seen
    ratio_ok(own["fixture_spin_a"], own["fixture_spin_b"])
    # Source files where debug information gives them (the fixture is
    # built with -g by apxs), else the object.
    files = {f["name"]: f.get("file", "") for f in doc["shared"]["frames"]}
    assert files["fixture_spin_a"], files["fixture_spin_a"]

    # uri= focuses the export as it focuses the others.
    _, doc, _ = export(srv, "focus.speedscope.json", uri="/spin")
    assert "uri=/spin" in doc["name"]
    assert [p["name"] for p in doc["profiles"]] == ["/spin"]


def test_speedscope_opens_in_speedscope(httpd, browser):
    """speedscope's own page imports the export as its own format and
    shows it: no alert (its answer to a file it cannot import), no console
    error, the document's name as the page's title, the URI's profile
    drawn."""
    srv = httpd(conf=conf("cpu", 999))
    assert srv.ab("/spin?a=40&b=20", 10, 2)[1] == 0
    time.sleep(0.5)
    node()                      # build/npm is there
    path, doc, _ = export(srv, "open.speedscope.json")
    # As speedscope's command-line tool does: a script that hands the
    # file to the page, named in the page's URL.
    name = os.path.basename(path)
    loader = os.path.join(srv.root, "open.speedscope.js")
    with open(loader, "w") as f:
        f.write("speedscope.loadFileFromBase64(%s, %s)"
                % (json.dumps(name), json.dumps(base64.b64encode(
                    open(path, "rb").read()).decode("ascii"))))
    browser.get("file://%s/index.html#localProfilePath=%s"
                % (SPEEDSCOPE, loader))
    try:
        WebDriverWait(browser, 20).until(
            lambda d: d.title == doc["name"] + " - speedscope")
    finally:
        shots = os.path.join(OUT, "screenshots")
        os.makedirs(shots, exist_ok=True)
        try:
            browser.switch_to.alert
            alert = browser.switch_to.alert.text
        except NoAlertPresentException:
            alert = None
            browser.save_screenshot(os.path.join(shots, "speedscope.png"))
    assert alert is None, alert
    log = browser.get_log("browser")
    assert not [e for e in log if e.get("level") == "SEVERE"], log
    assert any("Importing as speedscope json file" in e.get("message", "")
               for e in log), log
    body = browser.find_element("tag name", "body").text
    assert "/spin" in body, body[:500]


def kept_requests(value):
    """Every object in a JSON answer that looks like a kept request: an
    "id" and a "uri"."""
    if isinstance(value, dict):
        if "id" in value and "uri" in value:
            yield value
        for v in value.values():
            yield from kept_requests(v)
    elif isinstance(value, list):
        for v in value:
            yield from kept_requests(v)


def test_speedscope_of_one_request(httpd):
    """req=ID: one profile, the request's spans in time order, so that
    fixture_spin_a's samples all come before fixture_spin_b's."""
    srv = httpd(conf=conf("cpu", 999))
    status, _, body = srv.fetch("/reqprof?format=speedscope&req=none")
    if status == 400 and b"unknown parameter 'req'" in body:
        pytest.skip("this handler takes no req= yet (it comes with the "
                    "kept requests' handler)")
    assert srv.ab("/spin?a=100&b=50", 3, 1)[1] == 0
    time.sleep(0.5)
    answer = srv.profile(view="requests")
    kept = [k for k in kept_requests(answer)
            if str(k["uri"]).startswith("/spin")]
    assert kept, "no kept request of /spin in view=requests: %s" \
        % json.dumps(answer)[:1000]
    rid = kept[0]["id"]
    path, doc, _ = export(srv, "request.speedscope.json", req=rid)
    status, out = validate(path)
    assert status == 0, out
    assert len(doc["profiles"]) == 1
    p = doc["profiles"][0]
    assert "GET" in p["name"] and "/spin" in p["name"] \
        and str(rid) in p["name"], p["name"]
    assert p["startValue"] == 0 and p["endValue"] >= sum(p["weights"])
    order = [frames[-1] for frames, _ in stacks(doc, p)
             if frames[-1] in ("fixture_spin_a", "fixture_spin_b")]
    assert "fixture_spin_a" in order and "fixture_spin_b" in order, order
    last_a = max(i for i, f in enumerate(order) if f == "fixture_spin_a")
    first_b = order.index("fixture_spin_b")
    assert last_a < first_b, order
    for frames, _ in stacks(doc, p):
        assert frames[0].startswith("/spin"), frames
