"""The module's files call each other in one direction only.

Read off the objects the build made (nm: what each defines, what each
needs), so a call through any header, or none, is seen.  A file that
calls into another which calls back into it, directly or around a longer
circle, fails here.  The one exception is httpd's own convention: every
file logs under the module record (APLOG_USE_MODULE), which the module's
main file defines; that is data, not a call."""

import glob
import os
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OBJS = os.path.join(TOP, "mod_reqprof", ".libs")
MODULE_RECORD = "reqprof_module"


def symbol_graph():
    defs, needs = {}, {}
    objs = glob.glob(os.path.join(OBJS, "*.o"))
    if not objs:
        pytest.skip("the module is not built (make -f apxs.mk all)")
    for o in objs:
        name = os.path.basename(o)[:-2]
        out = subprocess.run(["nm", o], capture_output=True, text=True,
                             check=True).stdout
        needs[name] = set()
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRC":
                defs[f[2]] = name
            elif len(f) == 2 and f[0] == "U":
                needs[name].add(f[1])
    graph = {}
    for name, syms in needs.items():
        graph[name] = {defs[s] for s in syms
                       if s in defs and defs[s] != name
                       and s != MODULE_RECORD}
    return graph


def circles(graph):
    """Strongly connected sets of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_file_calls_back_into_its_caller():
    graph = symbol_graph()
    found = circles(graph)
    detail = ["%s -> %s" % (a, b) for c in found for a in c
              for b in sorted(graph[a]) if b in c]
    assert not found, "files calling each other: %s\n%s" % (found,
                                                           "\n".join(detail))


def test_the_check_sees_a_circle():
    # The check itself: two files that call each other are a circle.
    assert circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
