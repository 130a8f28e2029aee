"""The format check (tests/check_format.py) and the .clang-format it uses:
the check must catch a changed line clang-format would write otherwise,
pass an untouched or well-formatted one, and the configuration must keep
a log call's RP_LOGNO(n) with its message."""

import os
import shutil
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests"))

import check_format  # noqa: E402

GOOD = """static int add(int a, int b)
{
    if (a > b) {
        return a - b;
    }
    else {
        return a + b;
    }
}
"""

LOG = """static void f(request_rec *r, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, RP_LOGNO(1201) "refused a page change: %s", why);
}
"""

needs_tools = pytest.mark.skipif(
    not shutil.which("clang-format") or not shutil.which("git"),
    reason="clang-format or git is not installed")


def git(d, *args):
    subprocess.run(["git", "-C", d] + list(args), check=True,
                   capture_output=True)


@needs_tools
def test_the_check_catches_a_changed_line(tmp_path):
    d = str(tmp_path)
    os.makedirs(os.path.join(d, "mod_reqprof"))
    shutil.copy(os.path.join(TOP, ".clang-format"), d)
    src = os.path.join(d, "mod_reqprof", "x.c")
    with open(src, "w") as f:
        f.write(GOOD)
    git(d, "init", "-q")
    git(d, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(d, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm",
        "base")
    base = check_format.base_commit(d)
    assert base
    assert check_format.unformatted(d, base, ["mod_reqprof"]) == ""
    with open(src, "w") as f:
        f.write(GOOD.replace("return a - b;", "return a-b ;"))
    diff = check_format.unformatted(d, base, ["mod_reqprof"])
    assert "-        return a-b ;" in diff, diff
    assert "+        return a - b;" in diff, diff


@needs_tools
def test_rp_logno_stays_with_its_message():
    out = subprocess.run(["clang-format", "--style=file:%s"
                          % os.path.join(TOP, ".clang-format"),
                          "--assume-filename=x.c"], input=LOG,
                         capture_output=True, text=True, check=True).stdout
    assert 'RP_LOGNO(1201) "refused a page change: %s"' in out, out
    assert "RP_LOGNO (" not in out, out


def test_the_tree_is_checked_from_its_own_history():
    if not os.path.isdir(os.path.join(TOP, ".git")):
        pytest.skip("not a git checkout")
    assert check_format.base_commit(TOP), "no history of .clang-format"
