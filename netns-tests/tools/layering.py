#!/usr/bin/env python3
"""layering.py - what the compiler cannot see about flowtap's targets.

    layering.py PACKAGE_JSON SOURCES_DIR
    swift package dump-package > pkg.json && layering.py pkg.json Sources

The compiler keeps each target to the modules Package.swift gives it (test-all builds with
--explicit-target-dependency-import-check error) and SwiftPM refuses a cycle. Neither knows
which way the pipeline runs. This checks, from `swift package dump-package`'s JSON and the
`import` lines under SOURCES_DIR:

  1. every flowtap target has its place in ORDER, and depends only on targets before it;
  2. the per-frame targets stay apart from the export and the operator's side (FORBIDDEN);
  3. the C shim and the packages are each used by the one target that is theirs (ONLY): the
     shim's calls go through Base's syscall layer;
  4. every dependency a target declares is imported by one of its files (no stale edge that
     would let a later change use a stage unnoticed).

Exits 1 with one line per breach. docs/architecture.md draws the graph.
"""
import json
import os
import re
import sys

# The pipeline, in the order it runs: Base; frames in (Decode, Device); facts into flows
# (Meter, with what Inspect reads of a flow's first bytes); flows out (Encode, Send, Export); the operator's side (Control); the probe's parts
# (the per-frame loop, privilege drop, the wiring, the handover, `read`, `run`); the CLI.
ORDER = ['CFlowTapLinux', 'FlowTapBase', 'FlowTapDecode', 'FlowTapInspect', 'FlowTapDevice', 'FlowTapMeter', 'FlowTapEncode',
         'FlowTapSend', 'FlowTapExport', 'FlowTapControl', 'FlowTapForward', 'FlowTapSecurity', 'FlowTapSetup',
         'FlowTapLifecycle', 'FlowTapRead', 'FlowTapProbe', 'flowtap']

# Edges that the order alone would allow but the design does not.
FORBIDDEN = {
    # The forwarding loop meters and hands records to a ring: it knows neither how records
    # are encoded or sent nor the operator's side (ng_netflow's node apart from its export,
    # VPP flowprobe's node.c apart from flowprobe.c).
    'FlowTapForward': {'FlowTapDevice', 'FlowTapEncode', 'FlowTapSend', 'FlowTapExport', 'FlowTapControl'},
    # Privilege drop and seccomp are about the process, not about flows.
    'FlowTapSecurity': {'FlowTapDecode', 'FlowTapDevice', 'FlowTapMeter', 'FlowTapEncode', 'FlowTapSend',
                        'FlowTapExport', 'FlowTapControl', 'FlowTapForward'},
    # The frame path's own stages take no package but the standard library's and swift-system.
    'FlowTapDecode': {'Logging', 'Prometheus', 'ArgumentParser'},
    'FlowTapInspect': {'Logging', 'Prometheus', 'ArgumentParser'},
    'FlowTapMeter': {'Logging', 'Prometheus', 'ArgumentParser'},
}

# What only one target may depend on: the C shim (Base's syscall layer types its calls for
# everyone else), the Prometheus exposition (the operator's side), the argument parser (the CLI).
ONLY = {
    'CFlowTapLinux': {'FlowTapBase'},
    'Prometheus': {'FlowTapControl'},
    'ArgumentParser': {'flowtap'},
}

IMPORT = re.compile(r'^\s*(?:@testable\s+|@_implementationOnly\s+|(?:public|package|internal)\s+)?import\s+(?:struct\s+|enum\s+|class\s+|func\s+)?([A-Za-z_]\w*)', re.M)


def dependencies(package):
    """{target: [names of the targets and products it depends on]} for the non-test targets."""
    out = {}
    for target in package['targets']:
        if target['type'] == 'test':
            continue
        names = []
        for dependency in target['dependencies']:
            (kind, value), = dependency.items()
            names.append(value[0])
        out[target['name']] = names
    return out


def imports(sources, target):
    """The modules the files of a target import."""
    found = set()
    for directory, _, names in os.walk(os.path.join(sources, target)):
        for name in names:
            if name.endswith('.swift'):
                with open(os.path.join(directory, name), encoding='utf-8') as f:
                    found.update(IMPORT.findall(f.read()))
    return found


def breaches(package, sources, checked=None):
    """One line per breach; the targets looked at are appended to `checked`."""
    checked = [] if checked is None else checked
    deps = dependencies(package)
    out = []
    for target, names in sorted(deps.items()):
        if not os.path.isdir(os.path.join(sources, target)):
            continue   # a test-support target kept under Tests/
        checked.append(target)
        if target not in ORDER:
            out.append(f'{target}: not in layering.py ORDER: give the new target its place in the pipeline')
            continue
        place = ORDER.index(target)
        for name in names:
            if name in ORDER and ORDER.index(name) >= place:
                out.append(f'{target} depends on {name}, which comes after it in the pipeline')
            if name in FORBIDDEN.get(target, ()):
                out.append(f'{target} depends on {name}, which it must not know')
            if name in ONLY and target not in ONLY[name]:
                out.append(f'{target} depends on {name}, which only {", ".join(sorted(ONLY[name]))} may use')
        used = imports(sources, target)
        for name in names:
            if name not in used:
                out.append(f'{target} declares {name} but no file of it imports it: drop the dependency')
    return out


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().split('\n\n')[1], file=sys.stderr)
        return 2
    with open(argv[1], encoding='utf-8') as f:
        package = json.load(f)
    checked = []
    found = breaches(package, argv[2], checked)
    for line in found:
        print(f'layering: {line}')
    if not checked:
        print(f'layering: no target of the package has its folder under {argv[2]}')
        return 1
    if not found:
        print(f'layering: {len(checked)} targets in pipeline order, no forbidden edge, no stale one')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
