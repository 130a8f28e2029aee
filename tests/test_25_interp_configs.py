"""PHP and Python frames under the configurations operators run, not only
the harness's: a name-based virtual host with AllowOverride All and an
.htaccess that rewrites onto the PHP page and sets PHP values; mod_wsgi
served over HTTP/2 (h2c) by mod_http2's workers, which exit when idle
and new ones start; graceful and hard restarts of both under load.  Each
time the script functions must be there, no request may fail but the
restarts' own, and no child may crash."""

import os
import shutil
import subprocess
import time

import pytest

from httpd_env import (APPS, MAX_WORKERS_REACHED, MODDIR, OUT, PHP_MODULE,
                       function_row, merge_failures, profiling_conf,
                       wsgi_conf)


def vhost_php_conf(root):
    """The PHP page copied to ROOT, served by a name-based virtual host
    whose directory allows every override; its .htaccess rewrites /shop
    onto the page and turns PCRE2's JIT off."""
    os.makedirs(root, exist_ok=True)
    shutil.copy(os.path.join(APPS, "php", "work.php"), root)
    with open(os.path.join(root, ".htaccess"), "w") as f:
        f.write("RewriteEngine On\n"
                "RewriteRule ^shop$ work.php?a=12&b=4 [L,QSA]\n"
                "php_value pcre.jit 0\n")
    for d in (root, os.path.dirname(root)):
        os.chmod(d, 0o755)
    return """LoadModule rewrite_module %s/mod_rewrite.so
LoadModule php_module %s
<VirtualHost 127.0.0.1:*>
    ServerName other.test
    DocumentRoot "%s"
</VirtualHost>
<VirtualHost 127.0.0.1:*>
    ServerName shop.test
    DocumentRoot "%s"
    <Directory "%s">
        AllowOverride All
        Require all granted
        <FilesMatch "\\.php$">
            SetHandler application/x-httpd-php
        </FilesMatch>
    </Directory>
    <Location /reqprof>
        SetHandler reqprof
    </Location>
</VirtualHost>
""" % (MODDIR, PHP_MODULE, root, root, root)


def restart_both_ways(srv):
    """A graceful restart, then a hard one, each once the generation
    before it runs (httpd forgets a signal that arrives while one is
    starting)."""
    for action in (srv.graceful, srv.restart):
        started = srv.new_log().count("resuming normal operations")
        action()
        deadline = time.time() + 30
        while (srv.new_log().count("resuming normal operations") <= started
               and time.time() < deadline):
            time.sleep(0.05)
        time.sleep(0.6)


def test_php_vhost_htaccess_rewrite_restarts(httpd):
    # Under tests/out, which www-data can reach (a pytest tmp_path may
    # not be: httpd would answer 403).
    root = os.path.join(OUT, "vhost-php", "shop")
    srv = httpd(mpm="prefork", conf="ReqProf On\nReqProfTimer cpu\n"
                "ReqProfFrequency 1000\nReqProfExclude ^/reqprof\n"
                + vhost_php_conf(root),
                expected_log=(MAX_WORKERS_REACHED,))
    host = {"Host": "shop.test"}
    r = srv.get("/shop", headers=host)
    assert r.status_code == 200 and r.text.split()[0].isdigit(), r.text
    # Load through the rewrite while the server restarts both ways.
    load = subprocess.Popen(["ab", "-q", "-r", "-t", "8", "-n", "1000000",
                             "-c", "3", "-H", "Host: shop.test",
                             srv.url("/shop")],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    restart_both_ways(srv)
    load.communicate(timeout=60)
    # After the restarts: a profile of their own generation's requests.
    srv.session.close()
    assert srv.ab("/shop?regex=8", 10, 1, extra=("-H", "Host: shop.test"))[1] \
        == 0
    r = srv.get("/reqprof", params={"format": "json", "view": "functions",
                                    "limit": "0"}, headers=host)
    assert r.status_code == 200, r.text[:300]
    prof = r.json()
    for name in ("work_a", "work_b", "regex"):
        f = function_row(prof, name, "php")
        assert f and f["file"].endswith("/shop/work.php"), (name, f)
    # The .htaccess's pcre.jit 0 reached PHP: PCRE2's own frames unwind
    # under the PHP function that called it.
    assert any("pcre2_match_8" in s["frames"] and "regex" in s["frames"]
               for s in prof["stacks"])
    # The URI profiled is the one asked for, before the rewrite.
    assert any(u["uri"] == "/shop" for u in prof["uris"]), prof["uris"]
    bad, total = merge_failures(prof["counters"])
    assert total and bad <= 0.01 * total, prof["counters"]


@pytest.mark.parametrize("mpm_", ["event", "worker"])
def test_python_over_h2c_workers_come_and_go(httpd, mpm_):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    conf = ("LoadModule http2_module %s/mod_http2.so\n"
            "Protocols h2c http/1.1\nH2MinWorkers 1\nH2MaxWorkers 8\n"
            "H2MaxWorkerIdleSeconds 1\nStartServers 1\nServerLimit 1\n"
            "ThreadsPerChild 4\nMaxRequestWorkers 4\nMinSpareThreads 1\n"
            "MaxSpareThreads 4\n" % MODDIR)
    srv = httpd(mpm=mpm_, conf=conf + profiling_conf("cpu", 1000)
                + wsgi_conf(), expected_log=(MAX_WORKERS_REACHED,))
    urls = [srv.url("/py?a=24&b=8&n=%d" % i) for i in range(12)]
    for _ in range(3):
        procs = [subprocess.Popen(["curl", "-s", "--http2-prior-knowledge",
                                   "-o", "/dev/null", "-w",
                                   "%{http_version} %{http_code}", u],
                                  stdout=subprocess.PIPE, text=True)
                 for u in urls]
        got = [p.communicate(timeout=60)[0] for p in procs]
        assert got.count("2 200") == 12, got
        # The idle workers exit; the next round starts new ones.
        time.sleep(2.5)
    prof = srv.profile()
    a, b = function_row(prof, "work_a", "python"), \
        function_row(prof, "work_b", "python")
    assert a and b, prof["functions"][:20]
    assert 2.4 <= a["cum_ms"] / b["cum_ms"] <= 3.6, (a, b)
    bad, total = merge_failures(prof["counters"])
    assert total and bad <= 0.01 * total, prof["counters"]


def test_python_restarts_under_load(httpd):
    srv = httpd(mpm="worker", conf=profiling_conf("real", 1000)
                + wsgi_conf(), expected_log=(MAX_WORKERS_REACHED,))
    load = subprocess.Popen(["ab", "-q", "-r", "-t", "8", "-n", "1000000",
                             "-c", "4", srv.url("/py?a=2&sleep=5&gen=2")],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    restart_both_ways(srv)
    load.communicate(timeout=60)
    srv.session.close()
    assert srv.ab("/py?a=6&b=2", 10, 2)[1] == 0
    prof = srv.profile()
    assert function_row(prof, "work_a", "python"), prof["functions"][:20]
    assert function_row(prof, "pause", "python")
    bad, total = merge_failures(prof["counters"])
    assert total and bad <= 0.01 * total, prof["counters"]
