#!/usr/bin/python3
"""httpd's own test suite with mod_reqprof profiling every request.

    make -f apxs.mk conformance HTTPD_TESTS=/path/to/httpd-tests

HTTPD_TESTS is a checkout of the apache/httpd-tests repository (the perl
framework, driven by Apache::Test), kept outside this repository; this
script never changes it.  Each run works on its own copy under
tests/out/conformance/<run>/:

  none        the suite against Debian's apache2 without the module
  <timer>     the same with mod_reqprof loaded, `ReqProf On`, no include
              filter, `ReqProfTimer <timer>`, `ReqProfFrequency <hz>`,
              once per timer of CONFORMANCE_TIMERS (default "real cpu")

Every run loads the same set of Debian's modules (all of
/usr/lib/apache2/modules but other MPMs, mod_cgi under a threaded MPM and
mod_perl), through a generated httpd.conf that Apache::Test inherits
(-httpd_conf), so the result does not depend on /etc/apache2.  The module's
directives go into t/conf/zz_reqprof.conf.in of the copy, which Apache::Test
includes at the end of its generated httpd.conf.

It passes when every module run ran the same test files as the run without
the module, no file fails that did not fail there (Debian's build fails a
few files on its own, unrelated to this module), no child crashed (the
error log's "exit signal", "Segmentation fault", AH00051/AH00052, or a core
dump), and the error log has no [crit], [alert] or [emerg] message that the
run without the module does not have.  Exit status 0 when it passes, 1
when not.

Apache::Test refuses to run as root, so as root every run is done as
CONFORMANCE_USER (default www-data), which owns the copies.

Settings (environment, or the make variables of the same names):
  HTTPD_TESTS          the checkout (required)
  CONFORMANCE_TIMERS   timers to run with, default "real cpu"
  CONFORMANCE_HZ       ReqProfFrequency, default 1000
  CONFORMANCE_TESTS    test files or directories, relative to the
                       checkout ("t/apache t/modules/alias.t"); default all
  CONFORMANCE_MPM      event (default), worker or prefork
  CONFORMANCE_PORT     the first run's base port, default 8529 (Apache::
                       Test's); run N uses base + 100 * N
  CONFORMANCE_OUT      where the copies go, default tests/out/conformance
  CONFORMANCE_TIMEOUT  seconds one run may take, default 7200
  CONFORMANCE_INJECT   self-check: a test file (e.g. t/apache/404.t) that
                       the module runs replace by one that fails and
                       SIGSEGVs an httpd child; the result must then be 1
"""

import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join(TOP, "mod_reqprof", ".libs", "mod_reqprof.so")
MODDIR = "/usr/lib/apache2/modules"
HTTPD = shutil.which("apache2") or "/usr/sbin/apache2"
APXS = shutil.which("apxs") or "/usr/bin/apxs"
BASE_PORT = 8529            # Apache::Test's default; vhosts take the next ~35
PORT_STEP = 100

# Loaded before the rest, which link against them or register providers.
FIRST_MODULES = ("proxy", "cache", "dav", "session", "ldap", "dbd",
                 "socache_shmcb", "slotmem_shm")

# The error log: a child that died ...
CRASH = re.compile(r"exit signal|Segmentation fault|AH00051|AH00052"
                   r"|dumped core")
# ... and messages at these levels.
SEVERE = re.compile(r"\[[a-z_0-9]*:(crit|alert|emerg)\]")


def log(msg):
    print("[conformance] %s" % msg, flush=True)


def setting(name, default=None):
    value = os.environ.get(name, "")
    return value if value.strip() else default


# ---------------------------------------------------------------------------
# The configuration every run inherits

def module_lines(mpm):
    """LoadModule lines for Debian's modules: all but the other MPMs,
    mod_perl (not httpd's) and the CGI module that does not suit the MPM
    (Debian's own choice: mod_cgid under threads, mod_cgi under prefork)."""
    names = []
    for f in sorted(os.listdir(MODDIR)):
        m = re.match(r"mod_(\w+)\.so$", f)
        if m:
            names.append(m.group(1))
    skip = {"perl", "cgi" if mpm != "prefork" else "cgid"}
    skip |= {n for n in names if n.startswith("mpm_")}
    ordered = ["mpm_" + mpm] + [n for n in FIRST_MODULES if n in names]
    ordered += [n for n in names if n not in skip and n not in ordered]
    return ["LoadModule %s_module %s/mod_%s.so" % (n, MODDIR, n)
            for n in ordered]


def reqprof_conf(timer, hz):
    return ("# written by tests/conformance.py: every request profiled\n"
            "ReqProf On\n"
            "ReqProfTimer %s\n"
            "ReqProfFrequency %d\n" % (timer, hz))


# The replacement of CONFORMANCE_INJECT's file in the module runs: one
# check that fails, and a worker child of the test server killed by SIGSEGV.
INJECTED_TEST = r"""# written by tests/conformance.py (CONFORMANCE_INJECT self-check)
use strict;
use warnings FATAL => 'all';
use Apache::Test;
use Apache::TestRequest;

plan tests => 2;

my $res = GET '/index.html';
my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
open my $fh, '<', $pidfile or die "$pidfile: $!";
chomp(my $ppid = <$fh>);
my ($victim, $most) = (0, 0);
for my $stat (glob '/proc/[0-9]*/stat') {
    open my $s, '<', $stat or next;
    my $line = <$s>;
    my ($pid) = $stat =~ m{/proc/(\d+)/};
    $line =~ s/^.*\)\s+//;
    next unless (split ' ', $line)[1] == $ppid;
    open my $st, '<', "/proc/$pid/status" or next;
    my ($threads) = join('', <$st>) =~ /^Threads:\s+(\d+)/m;
    ($victim, $most) = ($pid, $threads) if $threads > $most;
}
ok $victim && kill('SEGV', $victim);
ok 0, 'failure injected by CONFORMANCE_INJECT';
sleep 2;
"""


# ---------------------------------------------------------------------------
# One run

class Run:
    def __init__(self, name, timer, index, opts):
        self.name = name
        self.timer = timer
        self.opts = opts
        self.dir = os.path.join(opts["out"], name)
        self.tree = os.path.join(self.dir, "httpd-tests")
        self.port = opts["port"] + PORT_STEP * index
        self.log = os.path.join(self.dir, "run.log")
        self.status = {}        # test file -> ok / failed / skipped / ...
        self.failed = set()
        self.files = None       # Files=N of the harness
        self.skipped = 0
        self.crashes = []
        self.severe = []
        self.profiled = 0       # requests the module logged it profiles
        self.result = None      # harness's Result: line
        self.error = None       # why the run gave no result
        self.seconds = 0.0

    # -- preparation ---------------------------------------------------

    def prepare(self):
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)
        shutil.copytree(self.opts["checkout"], self.tree, symlinks=True,
                        ignore=shutil.ignore_patterns(".git"))
        lines = ["# generated by tests/conformance.py for run %s"
                 % self.name] + module_lines(self.opts["mpm"])
        if self.timer:
            lines.append("LoadModule reqprof_module %s"
                         % self.opts["module"])
            with open(os.path.join(self.tree, "t", "conf",
                                   "zz_reqprof.conf.in"), "w") as f:
                f.write(reqprof_conf(self.timer, self.opts["hz"]))
            inject = self.opts["inject"]
            if inject:
                with open(os.path.join(self.tree, inject), "w") as f:
                    f.write(INJECTED_TEST)
        self.inherit = os.path.join(self.dir, "inherit.conf")
        with open(self.inherit, "w") as f:
            f.write("\n".join(lines) + "\n")
        user = self.opts["user"]
        if user:
            pw = pwd.getpwnam(user)
            for root, dirs, files in os.walk(self.dir):
                for n in [root] + [os.path.join(root, x)
                                   for x in dirs + files]:
                    os.lchown(n, pw.pw_uid, pw.pw_gid)

    def command(self, argv):
        env = ["env", "HOME=" + self.dir, "PATH=" + os.environ["PATH"],
               "LANG=C", "APACHE_TEST_NO_STICKY_PREFERENCES=1",
               "APACHE_TEST_PORT=%d" % self.port, "APACHE_TEST_COLOR=0"]
        if self.opts["user"]:
            return ["runuser", "-u", self.opts["user"], "--"] + env + argv
        return env + argv

    def sh(self, argv, out, timeout):
        """Run ARGV in the copy as the run's user, in its own session."""
        p = subprocess.Popen(self.command(argv), cwd=self.tree, stdout=out,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return None

    # -- the run -------------------------------------------------------

    def run(self):
        t0 = time.time()
        try:
            self.prepare()
            with open(self.log, "w") as out:
                rc = self.sh(["perl", "Makefile.PL", "-apxs", APXS,
                              "-httpd", HTTPD, "-httpd_conf", self.inherit],
                             out, 300)
                if rc != 0:
                    self.error = "perl Makefile.PL failed (see %s)" % self.log
                    return self
                out.flush()
                rc = self.sh(["t/TEST", "-order=repeat"]
                             + self.opts["tests"], out, self.opts["timeout"])
                if rc is None:
                    out.write("\n[conformance] timed out after %d s\n"
                              % self.opts["timeout"])
                    self.sh(["t/TEST", "-stop"], out, 60)
                    self.error = "timed out"
        finally:
            self.seconds = time.time() - t0
        self.parse()
        return self

    # -- reading the results -------------------------------------------

    def parse(self):
        with open(self.log, errors="replace") as f:
            text = f.read()
        for m in re.finditer(r"^(t/\S+\.t) \.+ ?(.*)$", text, re.M):
            word = m.group(2).strip()
            state = ("ok" if word.startswith("ok") else
                     "skipped" if word.startswith("skipped") else
                     "failed")
            # A file's verdict can come on a later line ("Failed 2/9").
            self.status[m.group(1)] = state
        self.skipped = sum(1 for s in self.status.values() if s == "skipped")
        m = re.search(r"^Files=(\d+), Tests=(\d+)", text, re.M)
        if m:
            self.files = int(m.group(1))
        m = re.search(r"^Result: (\w+)", text, re.M)
        if m:
            self.result = m.group(1)
        # Test::Harness's summary names every file that did not pass.
        summary = text.split("Test Summary Report", 1)
        if len(summary) == 2:
            current, bad = None, False
            for line in summary[1].splitlines()[2:]:
                m = re.match(r"^(t/\S+\.t)\s+\(Wstat: (\d+).*?Failed: (\d+)\)",
                             line)
                if m:
                    if current and bad:
                        self.failed.add(current)
                    current = m.group(1)
                    bad = m.group(2) != "0" or m.group(3) != "0"
                elif line.startswith("  ") and current:
                    if re.match(r"\s+(Failed tests?|Parse errors|Non-zero"
                                r"|No plan|Bad plan)", line):
                        bad = True
                else:
                    break
            if current and bad:
                self.failed.add(current)
        for name in self.failed:
            self.status[name] = "failed"
        if self.files is None and not self.error:
            self.error = "no harness summary (see %s)" % self.log
        if re.search(r"server dumped core", text):
            self.crashes.append("harness: server dumped core")
        error_log = os.path.join(self.tree, "t", "logs", "error_log")
        try:
            with open(error_log, errors="replace") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if "reqprof(1001)" in line:
                        self.profiled += 1
                    if CRASH.search(line):
                        self.crashes.append(line)
                    elif SEVERE.search(line):
                        self.severe.append(line)
        except OSError:
            if not self.error:
                self.error = "no error log at %s" % error_log

    def ran(self):
        return {n for n, s in self.status.items() if s != "skipped"}


def normalise(line, tree):
    """An error-log line without what differs between runs: its own copy's
    path, time, pid, tid, client port, numbers, and the end of a long
    line."""
    line = line.replace(tree, "<httpd-tests>")
    line = re.sub(r"^\[[^\]]*\] ", "", line)
    line = re.sub(r"\[pid \d+(:tid \d+)?\] ", "", line)
    line = re.sub(r"\[client [^\]]*\] ", "", line)
    # httpd cuts long messages at a byte count, which the path moves.
    return re.sub(r"\d+", "N", line)[:200]


# ---------------------------------------------------------------------------

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    checkout = setting("HTTPD_TESTS")
    if not checkout:
        sys.exit("conformance: set HTTPD_TESTS to a checkout of the "
                 "apache/httpd-tests repository")
    checkout = os.path.abspath(checkout)
    if not os.path.isfile(os.path.join(checkout, "Makefile.PL")) \
            or not os.path.isdir(os.path.join(checkout, "t")):
        sys.exit("conformance: %s is not an httpd-tests checkout "
                 "(no Makefile.PL, t/)" % checkout)
    if os.path.commonpath([checkout, TOP]) == TOP:
        sys.exit("conformance: keep the httpd-tests checkout outside "
                 "this repository")
    timers = setting("CONFORMANCE_TIMERS", "real cpu").split()
    for t in timers:
        if t not in ("cpu", "real"):
            sys.exit("conformance: unknown timer %r (cpu, real)" % t)
    mpm = setting("CONFORMANCE_MPM", "event")
    if mpm not in ("event", "worker", "prefork"):
        sys.exit("conformance: unknown MPM %r" % mpm)
    tests = setting("CONFORMANCE_TESTS", "").split()
    for t in tests:
        if not os.path.exists(os.path.join(checkout, t)):
            sys.exit("conformance: no %s in %s" % (t, checkout))
    inject = setting("CONFORMANCE_INJECT")
    if inject and not os.path.isfile(os.path.join(checkout, inject)):
        sys.exit("conformance: no test file %s in %s" % (inject, checkout))
    if not os.path.exists(MODULE):
        sys.exit("conformance: build the module first (%s)" % MODULE)
    if subprocess.run(["perl", "-MApache::TestRun", "-e", "1"],
                      capture_output=True).returncode != 0:
        sys.exit("conformance: perl's Apache::Test is missing (Debian: "
                 "libapache2-mod-perl2; make -f apxs.mk conformance "
                 "installs it)")

    out = os.path.abspath(setting("CONFORMANCE_OUT",
                                  os.path.join(TOP, "tests", "out",
                                               "conformance")))
    os.makedirs(out, exist_ok=True)
    user = None
    if os.geteuid() == 0:
        user = setting("CONFORMANCE_USER", "www-data")
        pwd.getpwnam(user)
    # The module as it is now: a rebuild during the runs changes nothing.
    module = os.path.join(out, "mod_reqprof.so")
    shutil.copyfile(MODULE, module)
    os.chmod(module, 0o755)
    for d in (out, os.path.dirname(out)):
        os.chmod(d, os.stat(d).st_mode | 0o055)

    opts = {"checkout": checkout, "out": out, "mpm": mpm, "tests": tests,
            "hz": int(setting("CONFORMANCE_HZ", "1000")),
            "timeout": int(setting("CONFORMANCE_TIMEOUT", "7200")),
            "inject": inject, "user": user, "module": module,
            "port": int(setting("CONFORMANCE_PORT", str(BASE_PORT)))}
    runs = [Run("none", None, 0, opts)]
    runs += [Run(t, t, i + 1, opts) for i, t in enumerate(timers)]

    log("httpd-tests: %s" % checkout)
    log("httpd: %s" % subprocess.run([HTTPD, "-v"], capture_output=True,
                                     text=True).stdout.splitlines()[0])
    log("module: %s (sha256 %s)" % (MODULE, sha256(module)[:16]))
    log("runs: %s; MPM %s; %d Hz; tests: %s; as %s"
        % (", ".join(r.name for r in runs), mpm, opts["hz"],
           " ".join(tests) or "all", user or "the caller"))
    if inject:
        log("self-check: %s replaced in the module runs by a failing, "
            "crashing test" % inject)
    t0 = time.time()
    # One after the other: timing-sensitive tests want the machine, and
    # some use fixed paths (proxy.t's /tmp/test-ptf.sock) that two runs at
    # once would share.
    for r in runs:
        log("%s: started (log %s)" % (r.name, r.log))
        r.run()
        log("%s: %s in %.0f s: %s files, %d failed"
            % (r.name, r.error or r.result, r.seconds, r.files,
               len(r.failed)))
    ok = report(runs)
    log("total %.0f s" % (time.time() - t0))
    return 0 if ok else 1


def excerpt(lines, n=10, width=240):
    out = ["    " + x[:width] for x in lines[:n]]
    if len(lines) > n:
        out.append("    ... %d more" % (len(lines) - n))
    return "\n".join(out)


def report(runs):
    base = runs[0]
    ok = base.error is None
    base_severe = {normalise(x, base.tree) for x in base.severe}
    rows = [("run", "files", "skipped", "failed", "new failures",
             "crashes", "new crit", "profiled", "time")]
    details = []
    for r in runs:
        new = sorted(r.failed - base.failed)
        gone = sorted(base.failed - r.failed)
        missing = sorted(base.ran() - r.ran())
        extra = sorted(r.ran() - base.ran())
        new_severe = [x for x in r.severe
                      if normalise(x, r.tree) not in base_severe]
        is_base = r is base
        rows.append((r.name if r.timer is None
                     else "%s %d Hz" % (r.name, r.opts["hz"]),
                     "?" if r.files is None else str(r.files),
                     str(r.skipped), str(len(r.failed)),
                     "-" if is_base else str(len(new)),
                     str(len(r.crashes)),
                     "-" if is_base else str(len(new_severe)),
                     "-" if is_base else str(r.profiled),
                     "%.0f s" % r.seconds))
        if r.error:
            details.append("%s: no result: %s" % (r.name, r.error))
            ok = False
        if r.failed:
            details.append("%s: failing: %s" % (r.name,
                                                " ".join(sorted(r.failed))))
        if r.crashes:
            details.append("%s: crashes:\n%s" % (r.name, excerpt(r.crashes)))
            if not is_base:
                ok = False
        if is_base:
            if r.severe:
                details.append("none: %d [crit]/[alert]/[emerg] lines "
                               "(the reference; tests provoke them)"
                               % len(r.severe))
            continue
        if not r.error and r.profiled == 0:
            details.append("%s: the module profiled no request (no "
                           "reqprof(1001) line in the error log)" % r.name)
            ok = False
        if new:
            details.append("%s: NEW FAILURES: %s" % (r.name, " ".join(new)))
            ok = False
        if gone:
            details.append("%s: failing only without the module (flaky?): "
                           "%s" % (r.name, " ".join(gone)))
        if missing or extra or r.files != base.files:
            details.append("%s: files run differ: only without the module: "
                           "%s; only with it: %s"
                           % (r.name, " ".join(missing) or "none",
                              " ".join(extra) or "none"))
            ok = False
        if new_severe:
            details.append("%s: new [crit]/[alert]/[emerg]:\n%s"
                           % (r.name, excerpt(new_severe)))
            ok = False
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for d in details:
        print(d)
    print()
    print("conformance: %s" % ("PASS" if ok else "FAIL"))
    return ok


if __name__ == "__main__":
    sys.exit(main())
