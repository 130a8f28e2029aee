"""The format check of make test: every line of C changed since
.clang-format came into the repository must be as clang-format writes it.

Older lines keep their hand alignment (struct members with their comments
in one column, tables laid out as tables), which clang-format 14 cannot
reproduce: reformatting them all would misalign every multi-line trailing
comment.  So, as LLVM does for its own tree, the check covers the lines a
change touches (git clang-format against the commit that last changed
.clang-format, working tree included).  Prints one result line; exits 1
when a changed line is not formatted, and shows the diff to apply."""

import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATHS = ["mod_reqprof", "tests/unit", "tests/fixture", "tests/bench_render.c"]


def git(top, *args):
    return subprocess.run(["git", "-C", top] + list(args),
                          capture_output=True, text=True)


def base_commit(top):
    """The commit that last changed .clang-format, or None (no history
    here): the rules hold from there on."""
    p = git(top, "log", "-1", "--format=%H", "--", ".clang-format")
    lines = p.stdout.split()
    return lines[0] if p.returncode == 0 and lines else None


def unformatted(top, base, paths=PATHS):
    """clang-format's diff for the lines changed since BASE ("" if none)."""
    p = subprocess.run(["git", "clang-format", "--binary", "clang-format",
                        "--extensions", "c,h", "--diff", base, "--"]
                       + paths, cwd=top, capture_output=True, text=True)
    out = p.stdout
    if "diff --git" in out or out.startswith("---"):
        return out
    if p.returncode not in (0, 1):
        return "git clang-format failed: %s" % (p.stderr or out)
    return ""


def main():
    base = base_commit(TOP)
    if not base:
        print("format (clang-format)         not checked: no git history "
              "of .clang-format here")
        return 0
    diff = unformatted(TOP, base)
    if diff:
        print(diff)
        print("format (clang-format)         0 passed, 1 failed "
              "(apply the diff above: git clang-format %s)" % base[:12])
        return 1
    print("format (clang-format)         1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
