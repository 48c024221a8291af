"""No import cycle among the modules of stock_manager (issue #19).

``lint-imports`` (``python3 dev.py lint``) checks the layers and, with its
``acyclic_siblings`` contract, that no two siblings of a package import each other in a
circle. That contract looks only at siblings: a cycle that runs through a package's own
``__init__`` (``pkg`` -> ``pkg.a`` -> ``pkg``) is not a sibling cycle. This test closes the gap:
it builds the import graph with grimp (import-linter's graph builder) and asserts that no
strongly connected component has more than one module. Imports inside functions and under
``TYPE_CHECKING`` count: a function-local import that only hides a cycle is still one.
"""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check itself can fail: a graph with a three-module circle is reported."""
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def test_no_import_cycles_among_our_modules() -> None:
    graph = grimp.build_graph("stock_manager", cache_dir=None)
    assert _cycles(graph) == []
