"""mod_reqprof benchmark: what the module costs, as ratios against the same
server without it, measured in one run (make -f apxs.mk bench).

Protocol (../shared/design/SAMPLING-NOTES.md): a reference server (module
not loaded), an identical second reference (the A/A pair: the noise floor)
and one server per variant run side by side. Short `ab` slices alternate
between them, round after round, in a rotating order; each slice's server
CPU (on-CPU nanoseconds of every thread of every httpd process, from
/proc/PID/task/TID/schedstat, which resolves far finer than utime+stime's
10 ms ticks) is divided by the requests it completed. The figure is the
median over rounds of the per-round ratio variant/reference, printed beside
the A/A ratio of the same rounds. Requests per second are ratioed the same
way.

The peers: the reference server, module not loaded, under `perf record
-F 99 -g` and `-F 999 -g` attached to its processes, perf's own CPU
counted with the server's: what the usual alternative costs, in the same
rounds.

Then the same protocol on PHP (mod_php, prefork): a 2 ms PHP handler,
with the module not loaded (reference and A/A), profiled at 100 Hz with
PHP's functions in the stacks, and with ReqProfInterpreters Off.

Environment: BENCH_ROUNDS (default 12), BENCH_VARIANTS (comma list of
variant names, default all), BENCH_WORKLOADS (default all), BENCH_PEERS
(0: no perf peers), BENCH_PHP (0: no PHP section).
"""

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from httpd_env import Httpd, php_conf  # noqa: E402

# Typical filters an operator writes; none matches the workloads' paths.
NOT_MATCHING = """
ReqProf On
ReqProfInclude ^/app/ ^/api/v[0-9]+/ ^/checkout(/|$) ^/search
ReqProfExclude \\.(css|js|png|gif|jpe?g|ico)$ ^/api/v[0-9]+/health$
"""

def profiling(timer, hz, keep=""):
    return ("ReqProf On\nReqProfTimer %s\nReqProfFrequency %d\n%s"
            % (timer, hz, keep))


# Plain profiling: no request kept whole (the merged profile only).
NO_KEEP = "ReqProfKeep Off\n"


VARIANTS = [
    # (name, what it is, extra configuration)
    ("loaded-not-matching", "module loaded, filters set, nothing matching",
     NOT_MATCHING),
    ("loaded-off", "module loaded, ReqProf Off", "ReqProf Off\n"),
    ("cpu-100-plain", "every request profiled, cpu timer, 100 Hz, "
     "ReqProfKeep Off", profiling("cpu", 100, NO_KEEP)),
    ("cpu-100", "every request profiled, cpu timer, 100 Hz, kept as the "
     "default ReqProfKeep says", profiling("cpu", 100)),
    ("cpu-1000", "every request profiled, cpu timer, 1000 Hz",
     profiling("cpu", 1000)),
    ("real-100", "every request profiled, real timer, 100 Hz",
     profiling("real", 100)),
    ("real-1000", "every request profiled, real timer, 1000 Hz",
     profiling("real", 1000)),
]

# (name, what it is, perf frequency): the reference server under perf.
PEERS = [
    ("perf-99", "module not loaded, perf record -F 99 -g on the server", 99),
    ("perf-999", "module not loaded, perf record -F 999 -g on the server",
     999),
]

WORKLOADS = [
    # (name, path, concurrency, requests per slice)
    ("tiny static c=1", "/tiny.txt", 1, 3000),
    ("2 ms CPU handler c=4", "/spin?a=2", 4, 400),
]


PHP_VARIANTS = [
    ("php-cpu-100", "every request profiled, cpu timer, 100 Hz, PHP "
     "functions in the stacks", profiling("cpu", 100)),
    ("php-cpu-100-native", "the same with ReqProfInterpreters Off",
     profiling("cpu", 100, "ReqProfInterpreters Off\n")),
]
# About 2 ms of PHP (400 thousand loop turns, 1.3 ms per 260 here) at 4
# in flight.
PHP_WORKLOAD = ("2 ms PHP handler c=4", "/php/work.php?spin=400", 4, 400)


def server_cpu_ns(srv):
    """On-CPU time of every thread of the server's processes (and of the
    perf that samples it, for a peer)."""
    total = 0
    extra = [srv.perf.pid] if getattr(srv, "perf", None) else []
    for pid in [srv.parent_pid()] + srv.child_pids() + extra:
        task_dir = "/proc/%d/task" % pid
        try:
            tids = os.listdir(task_dir)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("%s/%s/schedstat" % (task_dir, tid)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total


def ab(srv, path, conc, n):
    """Run ab; return (completed requests, failed, requests per second)."""
    p = subprocess.run(["ab", "-q", "-n", str(n), "-c", str(conc),
                        srv.url(path)], capture_output=True, text=True)
    out = p.stdout
    complete = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    return complete, failed + (int(non2xx.group(1)) if non2xx else 0), rps


def slice_(srv, path, conc, n):
    before = server_cpu_ns(srv)
    done, failed, rps = ab(srv, path, conc, n)
    cpu = server_cpu_ns(srv) - before
    return cpu / max(done - failed, 1), rps, failed


def median_iqr(xs):
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=4) if len(xs) >= 4 else [xs[0], 0, xs[-1]]
    return statistics.median(xs), q[0], q[2]


def run_workload(servers, names, path, conc, n, rounds):
    """Per-round cpu/request and rps for every server."""
    cpu = {k: [] for k in names}
    rps = {k: [] for k in names}
    failures = {k: 0 for k in names}
    for k in names:                      # warm-up: caches, page cache, JIT
        slice_(servers[k], path, conc, max(n // 4, 50))
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for k in order:
            c, q, f = slice_(servers[k], path, conc, n)
            cpu[k].append(c)
            rps[k].append(q)
            failures[k] += f
    return cpu, rps, failures


def ratios(a, b):
    return [x / y for x, y in zip(a, b)]


def main():
    rounds = int(os.environ.get("BENCH_ROUNDS", "12"))
    want_v = os.environ.get("BENCH_VARIANTS")
    want_w = os.environ.get("BENCH_WORKLOADS")
    variants = [v for v in VARIANTS if not want_v or v[0] in want_v.split(",")]
    workloads = [w for w in WORKLOADS
                 if not want_w or w[0] in want_w.split(",")]
    servers = {
        "ref": Httpd("bench-ref", reqprof=False),
        "aa": Httpd("bench-aa", reqprof=False),
    }
    for name, _, conf in variants:
        servers[name] = Httpd("bench-" + name, conf=conf)
    peers = [p for p in PEERS if os.environ.get("BENCH_PEERS", "1") != "0"
             and shutil.which("perf")]
    for name, _, _ in peers:
        servers[name] = Httpd("bench-" + name, reqprof=False)
    names = list(servers)
    print("mod_reqprof bench: %d rounds, event MPM, %d cores, %s"
          % (rounds, os.cpu_count(), time.strftime("%Y-%m-%d %H:%M")))
    try:
        for s in servers.values():
            s.start()
        for name, _, hz in peers:
            srv = servers[name]
            pids = ",".join(str(p) for p in [srv.parent_pid()]
                            + srv.child_pids())
            srv.perf = subprocess.Popen(
                ["perf", "record", "-q", "-F", str(hz), "-g", "-p", pids,
                 "-o", os.path.join(srv.root, "perf.data")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rows = []
        pairs = []
        for wname, path, conc, n in workloads:
            cpu, rps, failures = run_workload(servers, names, path, conc, n,
                                              rounds)
            ref_cpu = statistics.median(cpu["ref"]) / 1000.0
            aa_c = median_iqr(ratios(cpu["aa"], cpu["ref"]))
            aa_r = median_iqr(ratios(rps["aa"], rps["ref"]))
            for vname, _, _ in variants + peers:
                vc = median_iqr(ratios(cpu[vname], cpu["ref"]))
                vr = median_iqr(ratios(rps[vname], rps["ref"]))
                rows.append((wname, vname, vc, vr, aa_c, aa_r, ref_cpu,
                             failures[vname] + failures["ref"]
                             + failures["aa"]))
            if "cpu-100" in cpu and "cpu-100-plain" in cpu:
                # The cost of keeping alone, round by round.
                pairs.append((wname, (
                    median_iqr(ratios(cpu["cpu-100"], cpu["cpu-100-plain"])),
                    aa_c)))
        print()
        print("server CPU per request and requests/s, as median ratios over "
              "rounds [interquartile range];")
        print("A/A = two identical servers without the module, same rounds: "
              "the noise floor.")
        print()
        hdr = ("%-22s %-22s %-24s %-24s %-24s %-24s %-10s %s"
               % ("workload", "variant", "cpu/req vs none",
                  "A/A cpu/req", "req/s vs none", "A/A req/s",
                  "ref µs/req", "failed"))
        print(hdr)
        print("-" * len(hdr))
        for (w, v, vc, vr, ac, ar, ref_us, failed) in rows:
            print("%-22s %-22s %-24s %-24s %-24s %-24s %-10.1f %d"
                  % (w, v, fmt(vc), fmt(ac), fmt(vr), fmt(ar), ref_us,
                     failed))
        print()
        for name, what, _ in variants + peers:
            print("  %-22s %s" % (name, what))
        for w, keep_over_plain in pairs:
            print("\n%s: keeping requests over plain profiling (cpu-100 / "
                  "cpu-100-plain), cpu/req %s, A/A %s"
                  % (w, fmt(keep_over_plain[0]), fmt(keep_over_plain[1])))
    finally:
        for s in servers.values():
            if getattr(s, "perf", None):
                s.perf.send_signal(signal.SIGINT)
                s.perf.wait(60)
                # Its samples were only the point of its cost.
                try:
                    os.unlink(os.path.join(s.root, "perf.data"))
                except OSError:
                    pass
        return stop_all(servers)
    return 0


def stop_all(servers):
    """Stop SERVERS; 1 (said) when an error log shows trouble, else 0."""
    for s in servers.values():
        s.stop()
    problems = [l for s in servers.values() for l in s.log_problems()]
    if problems:
        print("\nerror log problems:\n" + "\n".join(problems))
        return 1
    return 0


def run_php(rounds):
    """The PHP section: its own reference servers (mod_php, prefork)."""
    servers = {"ref": Httpd("bench-php-ref", mpm="prefork", reqprof=False,
                            conf=php_conf()),
               "aa": Httpd("bench-php-aa", mpm="prefork", reqprof=False,
                           conf=php_conf())}
    for name, _, conf in PHP_VARIANTS:
        servers[name] = Httpd("bench-" + name, mpm="prefork",
                              conf=conf + php_conf())
    names = list(servers)
    wname, path, conc, n = PHP_WORKLOAD
    try:
        for s in servers.values():
            s.start()
        cpu, rps, failures = run_workload(servers, names, path, conc, n,
                                          rounds)
        print()
        print("PHP (mod_php 8.2, prefork), %s: ref %.1f µs/req"
              % (wname, statistics.median(cpu["ref"]) / 1000.0))
        aa_c = median_iqr(ratios(cpu["aa"], cpu["ref"]))
        aa_r = median_iqr(ratios(rps["aa"], rps["ref"]))
        for vname, what, _ in PHP_VARIANTS:
            print("  %-20s cpu/req %s (A/A %s), req/s %s (A/A %s), "
                  "failed %d  -- %s"
                  % (vname, fmt(median_iqr(ratios(cpu[vname], cpu["ref"]))),
                     fmt(aa_c),
                     fmt(median_iqr(ratios(rps[vname], rps["ref"]))),
                     fmt(aa_r), failures[vname], what))
    finally:
        status = stop_all(servers)
    return status


def fmt(m):
    return "%.3f [%.3f-%.3f]" % m


if __name__ == "__main__":
    rc = main()
    if os.environ.get("BENCH_PHP", "1") != "0":
        rc = run_php(int(os.environ.get("BENCH_ROUNDS", "12"))) or rc
    sys.exit(rc)
