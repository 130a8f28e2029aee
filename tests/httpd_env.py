"""A real httpd for tests, demo and bench: httpd_env.

Starts Debian's `apache2` binary (never apachectl, never /etc/apache2) with a
generated configuration in a private ServerRoot under tests/out/, on a free
127.0.0.1 port, with the chosen MPM, mod_reqprof and the test fixture
module. The model is httpd's own test/pyhttpd and mod_h2/mod_md's suites:
one real server per configuration, plain HTTP to it, and the error log read
afterwards for anything that should not be there.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import requests

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, "tests", "out")
# REQPROF_MODULE: another build of the module (bench-request's).
MODULE = os.environ.get("REQPROF_MODULE") or os.path.join(
    TOP, "mod_reqprof", ".libs", "mod_reqprof.so")
FIXTURE = os.path.join(TOP, "tests", "fixture", ".libs",
                       "mod_reqprof_fixture.so")
EXAMPLE_CONF = os.path.join(TOP, "conf.d", "reqprof.conf")
HTTPD = shutil.which("apache2") or shutil.which("httpd") or "/usr/sbin/apache2"
MODDIR = "/usr/lib/apache2/modules"
# The interpreters of the mixed-stack tests (Debian's builds), and their
# applications of known work.
PHP_MODULE = os.path.join(MODDIR, "libphp8.2.so")
WSGI_MODULE = os.path.join(MODDIR, "mod_wsgi.so")
APPS = os.path.join(TOP, "tests", "apps")
MPMS = ("event", "worker", "prefork")

# Error-log lines that mean a test must fail, unless the test expects them.
BAD_LOG = re.compile(r"\[[a-z_0-9]*:(emerg|alert|crit|error)\]"
                     r"|exit signal|Segmentation fault|AH00051|AH00052")

# "server reached MaxRequestWorkers setting": httpd's own load message,
# one number per MPM (prefork AH00161, worker AH00286, event AH00484).
# Tests that fill the workers on purpose expect it; it is not a fault.
MAX_WORKERS_REACHED = r"AH00161|AH00286|AH00484"

MPM_CONF = {
    "event": """
StartServers 2
ServerLimit 4
ThreadsPerChild 8
MinSpareThreads 8
MaxSpareThreads 32
MaxRequestWorkers 32
""",
    "worker": """
StartServers 2
ServerLimit 4
ThreadsPerChild 8
MinSpareThreads 8
MaxSpareThreads 32
MaxRequestWorkers 32
""",
    "prefork": """
StartServers 4
MinSpareServers 4
MaxSpareServers 8
ServerLimit 16
MaxRequestWorkers 16
""",
}

BASE_MODULES = ("authz_core", "authz_host", "mime", "dir", "alias")


def profiling_conf(timer="cpu", hz=99, extra=""):
    """Every request profiled (but the page), the page at /reqprof."""
    return ("ReqProf On\nReqProfTimer %s\nReqProfFrequency %d\n"
            "ReqProfExclude ^/reqprof\n%s<Location /reqprof>\n"
            "    SetHandler reqprof\n</Location>\n" % (timer, hz, extra))


def php_conf(inner=""):
    """mod_php (prefork only: Debian's build is not thread-safe) serving
    tests/apps/php/ at /php/; INNER goes in its <Directory>."""
    app = os.path.join(APPS, "php")
    return ("LoadModule php_module %s\n"
            "Alias /php/ %s/\n"
            "<Directory %s>\n"
            "    Require all granted\n"
            "    <FilesMatch \"\\.php$\">\n"
            "        SetHandler application/x-httpd-php\n"
            "    </FilesMatch>\n"
            "%s"
            "</Directory>\n" % (PHP_MODULE, app, app, inner))


def wsgi_conf(extra=""):
    """mod_wsgi in embedded mode (the requests run in httpd's own threads)
    serving tests/apps/wsgi/app.py at /py; EXTRA after it (say
    WSGIApplicationGroup %{GLOBAL}: the main interpreter, not the
    default of one sub-interpreter per application).  Without
    WSGIDestroyInterpreter Off a child takes 10 s to stop, our module
    loaded or not (mod_wsgi 4.9.4 on event): httpd then kills it."""
    app = os.path.join(APPS, "wsgi")
    return ("LoadModule wsgi_module %s\n"
            "WSGIDestroyInterpreter Off\n"
            "WSGIScriptAlias /py %s/app.py\n"
            "<Directory %s>\n"
            "    Require all granted\n"
            "</Directory>\n"
            "%s" % (WSGI_MODULE, app, app, extra))


def function_row(prof, name, obj):
    """The functions view's row of NAME in object OBJ ("php", "python",
    a path), or None."""
    for f in prof["functions"]:
        if f["name"] == name and f["object"] == obj:
            return f
    return None


def merge_failures(c):
    """(samples whose script frames could not take the interpreter's
    place, samples taken while a script ran) of counters C."""
    bad = c["script_mismatch"] + c["script_fault"]
    return bad, bad + c["script_merged"] + c["script_cut"]


def free_port():
    """A port nobody listens on right now (bind to 0, read it, release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    """True while PID runs; a zombie waiting for its reaper counts as gone
    (a daemon's parent here may reap slowly)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def shared_docroot():
    """One document root for every server of a run, so static responses
    (ETag, Last-Modified) compare equal between servers."""
    root = os.path.join(OUT, "htdocs")
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    files = {
        "index.html": "<!doctype html><title>ok</title><p>index\n",
        "tiny.txt": "tiny\n",
        "a b/x.txt": "space in the path\n",
        "static/s.css": "p{}\n",
    }
    for name, text in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.chmod(os.path.dirname(path), 0o755)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(text)
    big = os.path.join(root, "big.txt")
    if not os.path.exists(big):
        line = "mod_reqprof demo text that compresses well, line %06d\n"
        with open(big, "w") as f:
            f.write("".join(line % i for i in range(40000)))
    # httpd makes the ETag of a file modified within the last second weak
    # (W/"..."): files written just now would answer differently to a
    # request in the same second and one after.  Dated a minute back, every
    # server of a run answers alike from the start (a fresh clone's first
    # test compared one of each).
    past = time.time() - 60
    for name in list(files) + ["big.txt"]:
        path = os.path.join(root, name)
        if os.stat(path).st_mtime > past:
            os.utime(path, (past, past))
    return root


class Httpd:
    """One private httpd instance.

    conf: text added to the generated httpd.conf (directives under test).
    reqprof: load mod_reqprof (False: the reference server of a comparison).
    modules: further Debian modules to load by name (e.g. "deflate").
    """

    def __init__(self, name, mpm="event", conf="", reqprof=True,
                 modules=(), fixture=True, loglevel="warn"):
        assert mpm in MPMS, mpm
        self.name = name
        self.mpm = mpm
        self.extra_conf = conf
        self.reqprof = reqprof
        self.modules = tuple(modules)
        self.fixture = fixture
        self.loglevel = loglevel
        self.root = os.path.join(OUT, name)
        self.port = free_port()
        self.docroot = shared_docroot()
        self.conf_path = os.path.join(self.root, "httpd.conf")
        self.error_log = os.path.join(self.root, "logs", "error_log")
        self.pid_file = os.path.join(self.root, "logs", "httpd.pid")
        self.session = requests.Session()
        self._log_offset = 0
        self.proc = None
        self.exit_code = None
        self.env = None          # the environment httpd runs in (None: ours)
        self.write_config()

    # -- configuration ---------------------------------------------------

    def config_text(self):
        user = ""
        if os.geteuid() == 0:
            # httpd refuses to serve as root; Debian ships www-data.
            user = "User www-data\nGroup www-data\n"
        loads = []
        for m in ("mpm_" + self.mpm,) + BASE_MODULES + self.modules:
            loads.append("LoadModule %s_module %s/mod_%s.so"
                         % (m, MODDIR, m))
        if self.reqprof:
            loads.append("LoadModule reqprof_module %s" % MODULE)
        if self.fixture:
            loads.append("LoadModule reqprof_fixture_module %s" % FIXTURE)
        fixture_routes = ""
        if self.fixture:
            fixture_routes = """
<LocationMatch "^/([a-z0-9]+/)?(spin|sleep|poll|recurse|upload|hello|fail)$">
    SetHandler reqprof-fixture
</LocationMatch>
"""
        return """# generated by tests/httpd_env.py for %(name)s
ServerRoot "%(root)s"
ServerName 127.0.0.1
Listen 127.0.0.1:%(port)d
PidFile "%(root)s/logs/httpd.pid"
ErrorLog "%(root)s/logs/error_log"
LogLevel %(loglevel)s
DefaultRuntimeDir "%(root)s/run"
%(user)s%(loads)s
%(mpmconf)s
TypesConfig /etc/mime.types
LogFormat "%%h \\"%%r\\" %%>s %%b %%D" short
CustomLog "%(root)s/logs/access_log" short
DocumentRoot "%(docroot)s"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "%(docroot)s">
    Require all granted
</Directory>
%(fixture)s
# -- under test --
%(extra)s
""" % {
            "name": self.name, "root": self.root, "port": self.port,
            "loglevel": self.loglevel, "user": user,
            "loads": "\n".join(loads), "mpmconf": MPM_CONF[self.mpm],
            "docroot": self.docroot, "fixture": fixture_routes,
            "extra": self.extra_conf,
        }

    def write_config(self):
        for d in ("", "logs", "run", "conf"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
            os.chmod(os.path.join(self.root, d), 0o755)
        with open(self.conf_path, "w") as f:
            f.write(self.config_text())

    def set_conf(self, extra):
        self.extra_conf = extra
        self.write_config()

    # -- control ---------------------------------------------------------

    def _ctl(self, *args, timeout=30):
        return subprocess.run([HTTPD, "-d", self.root, "-f", self.conf_path]
                              + list(args), capture_output=True, text=True,
                              timeout=timeout, env=self.env)

    def configtest(self):
        """(exit code, what httpd printed) of `-t` on the config."""
        p = self._ctl("-t")
        return p.returncode, (p.stdout + p.stderr)

    def start(self):
        """Run httpd in the foreground as our child, so that its exit status
        (a crash at shutdown, say) is seen, and wait until it serves."""
        if os.path.exists(self.pid_file):
            os.unlink(self.pid_file)
        self._log_offset = self._log_size()
        self.console = os.path.join(self.root, "logs", "console")
        with open(self.console, "w") as out:
            self.proc = subprocess.Popen(
                [HTTPD, "-d", self.root, "-f", self.conf_path,
                 "-DFOREGROUND"], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.env,
                # httpd signals its whole process group at stop: not ours.
                start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("httpd %s exited with %d at start:\n%s\n%s"
                                   % (self.name, self.proc.returncode,
                                      self.console_text(), self.new_log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5):
                    if os.path.exists(self.pid_file):
                        return self
            except OSError:
                pass
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError("httpd %s did not come up on port %d:\n%s"
                           % (self.name, self.port, self.new_log()))

    def console_text(self):
        try:
            with open(self.console, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def parent_pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def child_pids(self):
        ppid = self.parent_pid()
        kids = []
        if ppid is None:
            return kids
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == ppid:
                    kids.append(int(d))
            except (OSError, IndexError, ValueError):
                continue
        return kids

    def graceful(self):
        p = self._ctl("-k", "graceful")
        assert p.returncode == 0, p.stdout + p.stderr

    def restart(self):
        """A hard restart (SIGHUP, as `apachectl restart`): children are
        killed mid-request; the parent stays."""
        p = self._ctl("-k", "restart")
        assert p.returncode == 0, p.stdout + p.stderr

    def open_connections(self):
        """Server-side TCP connections on our port not yet fully closed."""
        n = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    next(f)
                    for line in f:
                        local, state = line.split()[1], line.split()[3]
                        if (int(local.rsplit(":", 1)[1], 16) == self.port
                                and state not in ("0A", "06")):
                            n += 1
            except OSError:
                continue
        return n

    def quiesce(self, timeout=3.0):
        """Wait until no connection is open or lingering. httpd 2.4's event
        MPM, stopped while it closes a connection, can log AH03092 or crash
        a child (seen here without mod_reqprof loaded: 3 in 200 stops); a
        test must not blame the module for that."""
        deadline = time.time() + timeout
        while self.open_connections() and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)

    def stop(self):
        """SIGTERM, as `apachectl stop` sends; returns httpd's exit code
        (negative: killed by that signal) and remembers it."""
        # Idle keep-alive connections would hold workers until their timeout.
        self.session.close()
        if self.proc is None or self.proc.poll() is not None:
            return self.exit_code
        self.quiesce()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.exit_code = "hung at stop"
            return self.exit_code
        self.exit_code = self.proc.returncode
        return self.exit_code

    # -- logs ------------------------------------------------------------

    def _log_size(self):
        try:
            return os.path.getsize(self.error_log)
        except OSError:
            return 0

    def new_log(self):
        """The error log written since the last start."""
        try:
            with open(self.error_log, errors="replace") as f:
                f.seek(self._log_offset)
                return f.read()
        except OSError:
            return ""

    def log_problems(self, expected=()):
        """Lines of the error log that mean trouble, minus EXPECTED regexes,
        and an exit other than a clean one."""
        bad = []
        if self.exit_code not in (None, 0):
            bad.append("httpd exit status %s" % self.exit_code)
        for line in self.new_log().splitlines():
            if BAD_LOG.search(line) and not any(re.search(e, line)
                                                for e in expected):
                bad.append(line)
        return bad

    # -- HTTP ------------------------------------------------------------

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def get(self, path, **kw):
        kw.setdefault("timeout", 30)
        return self.session.get(self.url(path), **kw)

    def post(self, path, **kw):
        kw.setdefault("timeout", 30)
        return self.session.post(self.url(path), **kw)

    def profile(self, **params):
        """The merged profile as JSON (GET /reqprof?format=json, every row),
        where a test put the page at /reqprof."""
        params.setdefault("format", "json")
        params.setdefault("view", "functions")
        params.setdefault("limit", "0")
        r = self.get("/reqprof", params=params)
        assert r.status_code == 200, r.text
        return json.loads(r.text)

    def now_while(self, paths, blocked_in, running_in, deadline=10):
        """GET each of PATHS on a thread of its own and, while they run,
        read view=now (json, where a test put the page at /reqprof) until
        one request's stack holds BLOCKED_IN and another's RUNNING_IN, or
        DEADLINE seconds pass.  Returns (its requests by state, the status
        of each GET once they ended)."""
        got = {}
        ts = [threading.Thread(target=lambda p=p: got.__setitem__(
            p, self.get(p).status_code)) for p in paths]
        for t in ts:
            t.start()
        try:
            end = time.time() + deadline
            while True:
                reqs = self.profile(view="now")["requests"]
                stacks = [[f["function"] for f in q["stack"]] for q in reqs]
                if (any(blocked_in in s for s in stacks)
                        and any(running_in in s for s in stacks)) \
                        or time.time() > end:
                    break
                time.sleep(0.1)
        finally:
            for t in ts:
                t.join(60)
        return {q["state"]: q for q in reqs}, [got.get(p) for p in paths]

    def control(self, action, origin=True, nonce=None, **fields):
        """POST a page control (enable, pause, clear, timer, frequency) the
        way the page's forms do: the nonce from the page, this origin.
        Returns the response (303 on success)."""
        if nonce is None:
            nonce = self.profile(view="overview")["nonce"]
        headers = {}
        if origin is True:
            headers["Origin"] = "http://127.0.0.1:%d" % self.port
        elif origin:
            headers["Origin"] = origin
        data = dict(fields, action=action, nonce=nonce)
        return self.session.post(self.url("/reqprof"), data=data,
                                 headers=headers, allow_redirects=False,
                                 timeout=30)

    def export(self, fmt, name, **params):
        """Fetch /reqprof?format=FMT (and PARAMS) into this server's
        directory as NAME, where the page is at /reqprof; returns (path,
        body, headers)."""
        query = "&".join(["format=" + fmt]
                         + ["%s=%s" % kv for kv in params.items()])
        status, headers, body = self.fetch("/reqprof?" + query, timeout=60)
        assert status == 200, body[:500]
        path = os.path.join(self.root, name)
        with open(path, "wb") as f:
            f.write(body)
        return path, body, headers

    def ab(self, path, n, c, extra=()):
        """Drive PATH with ab; returns (completed, failed + non-2xx)."""
        p = subprocess.run(["ab", "-q", "-n", str(n), "-c", str(c)]
                           + list(extra) + [self.url(path)],
                           capture_output=True, text=True)
        done = re.search(r"Complete requests:\s+(\d+)", p.stdout)
        failed = re.search(r"Failed requests:\s+(\d+)", p.stdout)
        non2xx = re.search(r"Non-2xx responses:\s+(\d+)", p.stdout)
        if not done or not failed:
            return 0, n
        return (int(done.group(1)), int(failed.group(1))
                + (int(non2xx.group(1)) if non2xx else 0))

    def fetch(self, path, method="GET", headers=None, body=None, timeout=30):
        """One request with PATH sent exactly as given (requests would
        re-encode it). Returns (status, headers dict, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def raw(self, data, timeout=10):
        """Send DATA (bytes) on a new connection; return the whole answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        return b"".join(chunks)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
