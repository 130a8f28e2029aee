"""A real headless browser for the page tests: Debian's chromium driven
by selenium through Debian's chromedriver.  No network, no extensions, no
sandbox (tests may run as root), a fixed window so screenshots compare."""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def make_driver(width=1400, height=1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-extensions",
                "--disable-background-networking", "--disable-sync",
                "--no-first-run", "--disable-default-apps",
                "--window-size=%d,%d" % (width, height)):
        opts.add_argument(arg)
    # Console messages (CSP violations among them) for the tests to read.
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.fail("chromium and chromedriver are needed "
                    "(make -f apxs.mk deps installs them)")
    drv = make_driver()
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()


def console_errors(drv):
    """Console messages of level SEVERE (script errors, CSP refusals)."""
    return [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"]
