"""layering.py: targets out of pipeline order, forbidden edges, stale dependencies; the real package passes."""
import json
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import layering  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def package(targets):
    """dump-package's shape: {name: [dependencies]}, every dependency a target by name."""
    return {'targets': [{'name': n, 'type': 'regular', 'dependencies': [{'byName': [d, None]} for d in deps]}
                        for n, deps in targets.items()]}


def sources(tmp_path, files):
    for path, text in files.items():
        p = tmp_path / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path)


def test_one_way_with_every_dependency_imported_passes(tmp_path):
    root = sources(tmp_path, {'FlowTapBase/A.swift': 'struct A {}\n',
                              'FlowTapMeter/M.swift': 'import FlowTapBase\nimport FlowTapDecode\n',
                              'FlowTapDecode/D.swift': 'import FlowTapBase\n'})
    assert layering.breaches(package({'FlowTapBase': [], 'FlowTapDecode': ['FlowTapBase'],
                                      'FlowTapMeter': ['FlowTapBase', 'FlowTapDecode']}), root) == []


def test_a_dependency_on_a_later_stage_is_a_breach(tmp_path):
    root = sources(tmp_path, {'FlowTapDecode/D.swift': 'import FlowTapMeter\n', 'FlowTapMeter/M.swift': '\n'})
    found = layering.breaches(package({'FlowTapDecode': ['FlowTapMeter'], 'FlowTapMeter': []}), root)
    assert found == ['FlowTapDecode depends on FlowTapMeter, which comes after it in the pipeline']


def test_the_forwarding_loop_must_not_know_the_export(tmp_path):
    root = sources(tmp_path, {'FlowTapForward/F.swift': 'import FlowTapExport\n', 'FlowTapExport/E.swift': '\n'})
    found = layering.breaches(package({'FlowTapForward': ['FlowTapExport'], 'FlowTapExport': []}), root)
    assert found == ['FlowTapForward depends on FlowTapExport, which it must not know']


def test_the_c_shim_is_bases_alone(tmp_path):
    root = sources(tmp_path, {'FlowTapDevice/T.swift': 'import CFlowTapLinux\n', 'CFlowTapLinux/x.swift': '\n'})
    found = layering.breaches(package({'FlowTapDevice': ['CFlowTapLinux'], 'CFlowTapLinux': []}), root)
    assert found == ['FlowTapDevice depends on CFlowTapLinux, which only FlowTapBase may use']


def test_a_declared_dependency_no_file_imports_is_stale(tmp_path):
    root = sources(tmp_path, {'FlowTapMeter/M.swift': 'import FlowTapBase // FlowTapDecode\n',
                              'FlowTapBase/B.swift': '\n', 'FlowTapDecode/D.swift': '\n'})
    found = layering.breaches(package({'FlowTapMeter': ['FlowTapBase', 'FlowTapDecode'], 'FlowTapBase': [],
                                       'FlowTapDecode': []}), root)
    assert found == ['FlowTapMeter declares FlowTapDecode but no file of it imports it: drop the dependency']


def test_a_target_without_a_place_in_the_order_is_named(tmp_path):
    root = sources(tmp_path, {'FlowTapExtras/X.swift': '\n'})
    found = layering.breaches(package({'FlowTapExtras': []}), root)
    assert found == ['FlowTapExtras: not in layering.py ORDER: give the new target its place in the pipeline']


def test_flowtaps_own_package_keeps_its_layers(tmp_path):
    if shutil.which('swift') is None:
        pytest.skip('no swift toolchain to read Package.swift')
    dumped = subprocess.run(['swift', 'package', 'dump-package'], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert dumped.returncode == 0, dumped.stderr
    checked = []
    assert layering.breaches(json.loads(dumped.stdout), os.path.join(ROOT, 'Sources'), checked) == []
    assert 'FlowTapForward' in checked and 'FlowTapDecode' in checked
