"""Run every test: the C unit tests given as arguments (Check, built with
ASan and UBSan, the *_tsan ones with ThreadSanitizer), then the
integration tests (pytest, real httpd on each MPM). Prints each suite's
result and a closing `N passed, N failed` line; exits non-zero when
anything failed or nothing ran."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK_LINE = re.compile(r"(\d+)%: Checks: (\d+), Failures: (\d+), "
                        r"Errors: (\d+)")


# ThreadSanitizer maps its shadow memory at fixed addresses; on a kernel
# with more mmap randomisation than it expects (vm.mmap_rnd_bits above
# 28 on x86-64) it may find them taken and stop at start-up.  A run with
# address-space randomisation off (setarch -R) cannot hit that.
TSAN_MAPPING = "ThreadSanitizer: unexpected memory mapping"


def run_unit(binary):
    p = subprocess.run([binary], capture_output=True, text=True)
    out = p.stdout + p.stderr
    if TSAN_MAPPING in out:
        p = subprocess.run(["setarch", os.uname().machine, "-R", binary],
                           capture_output=True, text=True)
        out = p.stdout + p.stderr
    m = CHECK_LINE.search(out)
    if not m:
        print(out)
        print("%s: no result line (exit %d)" % (binary, p.returncode))
        return 0, 1
    total, failed = int(m.group(2)), int(m.group(3)) + int(m.group(4))
    if failed or p.returncode:
        print(out)
    print("unit %-24s %d passed, %d failed"
          % (os.path.basename(binary), total - failed, failed))
    return total - failed, failed + (1 if p.returncode and not failed else 0)


def run_pytest():
    xml = os.path.join(TOP, "tests", "out", "junit.xml")
    os.makedirs(os.path.dirname(xml), exist_ok=True)
    if os.path.exists(xml):
        os.unlink(xml)
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE",
                        "-p", "no:cacheprovider", "--junitxml", xml,
                        os.path.join(TOP, "tests")], cwd=TOP)
    if not os.path.exists(xml):
        print("pytest wrote no report (exit %d)" % p.returncode)
        return 0, 1
    suite = ET.parse(xml).getroot()
    if suite.tag == "testsuites":
        suite = suite[0]
    tests = int(suite.get("tests", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    passed = tests - failed - skipped
    if p.returncode not in (0, 1) and not failed:
        failed = 1          # pytest itself broke (usage, collection)
    print("integration (pytest)         %d passed, %d failed, %d skipped"
          % (passed, failed, skipped))
    return passed, failed


def main(units):
    passed = failed = 0
    for u in units:
        p, f = run_unit(u)
        passed += p
        failed += f
    # Changed lines as clang-format writes them (tests/check_format.py).
    fmt = subprocess.run([sys.executable,
                          os.path.join(TOP, "tests", "check_format.py")])
    passed += 1 if fmt.returncode == 0 else 0
    failed += 1 if fmt.returncode != 0 else 0
    p, f = run_pytest()
    passed += p
    failed += f
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
