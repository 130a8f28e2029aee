"""What each part of the request path costs, in ns per request
(make -f apxs.mk bench-request).

The module is built again with RP_TSC (rp_tsc.h): each child adds the
CPU cycles of the filter match, the begin, the end and the drain of every
request to sums, and logs them in ns (by the TSC rate it measured) when
it exits.  This drives a real httpd (event MPM) with tiny static requests
(almost never a sample) and 5 ms CPU requests at 1000 Hz (several samples
each), with and without kept requests, stops it and prints the per-request
averages from its error log, requests with and without samples apart.
Then pages of PHP and Python recursing 40 deep, for the cost per sample
of walking their frames in the signal handler (rp_interp's merge).

Environment: REQPROF_MODULE (set by the make target: the RP_TSC build),
BENCH_REQUESTS (tiny static requests per configuration, default 20000).
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from httpd_env import MODULE, Httpd, php_conf, wsgi_conf  # noqa: E402

PARTS = ("match", "sampler", "cpuclock", "begin", "end", "drain")
LINE = re.compile(r"reqprof\(1004\): tsc (sampled|unsampled):(.*)")

CONFIGS = [
    # (name, configuration, workload path, requests, concurrency)
    ("tiny, cpu 100 Hz, keep off", "ReqProfTimer cpu\nReqProfFrequency 100\n"
     "ReqProfKeep Off\n", "/tiny.txt", None, 1),
    ("tiny, cpu 100 Hz, keep on", "ReqProfTimer cpu\nReqProfFrequency 100\n",
     "/tiny.txt", None, 1),
    ("tiny, real 100 Hz, keep on", "ReqProfTimer real\n"
     "ReqProfFrequency 100\n", "/tiny.txt", None, 1),
    ("5 ms CPU, cpu 1000 Hz, keep on", "ReqProfTimer cpu\n"
     "ReqProfFrequency 1000\n", "/spin?a=5", 600, 2),
]

# The walk of script frames, per sample (rp_interp): pages recursing 40
# deep, so that each sample walks about 42 frames.
WALKS = [
    # (name, MPM, configuration, path)
    ("PHP 8.2, 40 deep, cpu 1000 Hz", "prefork",
     "ReqProfTimer cpu\nReqProfFrequency 1000\n" + php_conf(),
     "/php/work.php?level=40"),
    ("Python 3.11, 40 deep, cpu 1000 Hz", "event",
     "ReqProfTimer cpu\nReqProfFrequency 1000\n" + wsgi_conf(),
     "/py?level=40"),
]


def parse(log_text):
    """{(sampled, part): (requests, ns per request)} summed over children."""
    tot = {}
    for m in LINE.finditer(log_text):
        fields = m.group(2).split()
        for i in range(0, len(fields), 3):
            part, n, ns = fields[i], int(fields[i + 1]), float(fields[i + 2])
            key = (m.group(1), part)
            c, s = tot.get(key, (0, 0.0))
            tot[key] = (c + n, s + n * ns)
    return {k: (c, s / c if c else 0.0) for k, (c, s) in tot.items()}


def main():
    if "tsc" not in MODULE:
        print("REQPROF_MODULE must name the RP_TSC build: "
              "make -f apxs.mk bench-request")
        return 2
    n_tiny = int(os.environ.get("BENCH_REQUESTS", "20000"))
    print("mod_reqprof request path, ns per request (TSC), event MPM, "
          "%d cores" % os.cpu_count())
    print()
    print("%-34s %-10s %8s %8s %8s %8s %8s %8s %8s %9s"
          % ("configuration", "requests", "match", "sampler", "cpuclock",
             "begin", "end", "drain", "total", "count"))
    for name, conf, path, n, conc in CONFIGS:
        srv = Httpd("bench-request", conf="ReqProf On\n" + conf)
        srv.start()
        try:
            subprocess.run(["ab", "-q", "-n", str(n or n_tiny), "-c",
                            str(conc), srv.url(path)], capture_output=True,
                           check=True)
        finally:
            srv.stop()
        got = parse(srv.new_log())
        for sampled in ("unsampled", "sampled"):
            row = [got.get((sampled, p), (0, 0.0)) for p in PARTS]
            count = max(c for c, _ in row)
            if not count:
                continue
            # match and begin are counted for every request (whether it
            # will have a sample is not known then).
            # The sampler's begin is within begin.
            total = sum(ns for p, (_, ns) in zip(PARTS, row)
                        if p not in ("sampler", "cpuclock"))
            print("%-34s %-10s %8.0f %8.0f %8.0f %8.0f %8.0f %8.0f %8.0f %9d"
                  % ((name, sampled) + tuple(ns for _, ns in row)
                     + (total, count)))
    print()
    print("%-34s %10s %10s %10s %10s"
          % ("walk of script frames", "samples", "ns each", "first sight",
             "ns each"))
    for name, mpm, conf, path in WALKS:
        srv = Httpd("bench-request", mpm=mpm, conf="ReqProf On\n" + conf)
        srv.start()
        try:
            subprocess.run(["ab", "-q", "-n", "1000", "-c", "1",
                            srv.url(path)], capture_output=True, check=True)
        finally:
            srv.stop()
        got = parse(srv.new_log())
        n, ns = got.get(("sampled", "merge"), (0, 0.0))
        n1, ns1 = got.get(("unsampled", "merge"), (0, 0.0))
        print("%-34s %10d %10.0f %10d %10.0f" % (name, n, ns, n1, ns1))
    print()
    print("match and begin (with the sampler's begin, and within that its "
          "CPU clock read) are over all requests; end and drain over the requests with (sampled) "
          "and without samples.  Wall-clock cycles: a part that makes a "
          "system call also counts what the kernel does meanwhile.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
