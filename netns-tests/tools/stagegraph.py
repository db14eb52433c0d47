#!/usr/bin/env python3
"""stagegraph.py - the type references between the stage folders of a Swift target.

    stagegraph.py [-v] SOURCES_DIR

Reads every .swift file below SOURCES_DIR, takes the names each top-level folder declares
(types, typealiases, top-level functions and constants, and the members of extensions on types
the target does not declare, such as `UnsafeRawPointer.be16`), and finds in which other folders
each name is used (comments and string literals left out). Exits 1 when the folders' references
run in a cycle, or when the base folder (Base) uses any other folder; prints the edges with -v.
This is the check behind "types flow one way" (README, Architecture).
"""
import collections
import os
import re
import sys

DECL = re.compile(r'^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|package|private|fileprivate|final|indirect|nonisolated)\s+)*'
                  r'(struct|enum|class|protocol|typealias|actor|func|let|var)\s+([A-Za-z_]\w*)')
EXTENSION = re.compile(r'^(?:(?:public|internal|package|private|fileprivate)\s+)*extension\s+([A-Za-z_][\w.]*)')
MEMBER = re.compile(r'^\s+(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|package|private|fileprivate|static|mutating|final|nonisolated)\s+)*'
                    r'(func|var|let)\s+([A-Za-z_]\w*)')
BASE = 'Base'


def strip(source):
    """The source without comments and string literals."""
    source = re.sub(r'/\*.*?\*/', ' ', source, flags=re.S)
    source = re.sub(r'"""(?:.|\n)*?"""', '""', source)
    source = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', source)
    return re.sub(r'//[^\n]*', '', source)


def folders(root):
    """{folder: {path: stripped text}} for the top-level folders below root ('.' for files at the top)."""
    out = collections.defaultdict(dict)
    for directory, _, names in os.walk(root):
        for name in names:
            if name.endswith('.swift'):
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, root)
                folder = relative.split(os.sep)[0] if os.sep in relative else '.'
                with open(path, encoding='utf-8') as f:
                    out[folder][path] = strip(f.read())
    return out


def declarations(tree):
    """{name: {folders that declare it}}."""
    types = set()
    for files in tree.values():
        for text in files.values():
            for line in text.split('\n'):
                m = DECL.match(line)
                if m:
                    types.add(m.group(2))
    declared = collections.defaultdict(set)
    for folder, files in tree.items():
        for text in files.values():
            foreign = False   # inside an extension of a type the target does not declare
            for line in text.split('\n'):
                m = DECL.match(line)
                if m:
                    declared[m.group(2)].add(folder)
                    foreign = False
                    continue
                m = EXTENSION.match(line)
                if m:
                    foreign = m.group(1).split('.')[-1] not in types
                    continue
                if foreign:
                    m = MEMBER.match(line)
                    if m:
                        declared[m.group(2)].add(folder)
    return declared


def edges(tree):
    """{folder: {folder it uses: {names}}}."""
    declared = declarations(tree)
    out = collections.defaultdict(lambda: collections.defaultdict(set))
    for folder, files in tree.items():
        for text in files.values():
            for name in set(re.findall(r'\b[A-Za-z_]\w*\b', text)):
                owners = declared.get(name, set())
                if folder in owners:
                    continue   # a name the folder declares itself is its own
                for owner in owners:
                    out[folder][owner].add(name)
    return out


def cycles(graph, nodes):
    """The strongly connected components of more than one folder (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def problems(root):
    """(edges, list of problems as lines)."""
    tree = folders(root)
    graph = edges(tree)
    lines = []
    for component in cycles(graph, tree.keys()):
        detail = '; '.join(f'{a} -> {b} ({", ".join(sorted(graph[a][b])[:4])})'
                           for a in component for b in component if b in graph.get(a, {}))
        lines.append(f'cycle among {", ".join(component)}: {detail}')
    for target, names in sorted(graph.get(BASE, {}).items()):
        lines.append(f'{BASE} uses {target} ({", ".join(sorted(names)[:4])}): the base folder must depend on nothing')
    return graph, lines


def main(argv):
    verbose = '-v' in argv
    args = [a for a in argv if a != '-v']
    if len(args) != 1 or not os.path.isdir(args[0]):
        print('usage: stagegraph.py [-v] SOURCES_DIR', file=sys.stderr)
        return 2
    graph, lines = problems(args[0])
    if verbose:
        for a in sorted(graph):
            for b in sorted(graph[a]):
                print(f'{a} -> {b}: {" ".join(sorted(graph[a][b]))}')
    for line in lines:
        print(f'stagegraph: {line}')
    if not lines:
        print(f'stagegraph: {len(graph)} folders use others, no cycle, {BASE} depends on nothing')
    return 1 if lines else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
