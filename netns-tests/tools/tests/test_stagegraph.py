"""stagegraph.py finds cycles among folders, and a base folder that uses another."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import stagegraph  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def write(tmp_path, files):
    for path, text in files.items():
        p = tmp_path / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path)


def test_a_two_folder_cycle_is_found(tmp_path):
    root = write(tmp_path, {
        'Meter/Record.swift': 'public struct FlowRecord { var a: IPAddress }\n',
        'Send/Address.swift': 'public struct IPAddress { func f(_ r: FlowRecord) {} }\n',
    })
    _, lines = stagegraph.problems(root)
    assert len(lines) == 1 and lines[0].startswith('cycle among Meter, Send')


def test_one_way_references_pass(tmp_path):
    root = write(tmp_path, {
        'Base/Address.swift': 'public struct IPAddress {}\n',
        'Meter/Record.swift': 'public struct FlowRecord { var a: IPAddress }\n',
        'Send/Sender.swift': 'struct Sender { func f(_ r: FlowRecord, _ a: IPAddress) {} }\n',
    })
    graph, lines = stagegraph.problems(root)
    assert lines == []
    assert graph['Send']['Meter'] == {'FlowRecord'}


def test_names_in_comments_and_strings_do_not_count(tmp_path):
    root = write(tmp_path, {
        'A/A.swift': 'struct AType { let s = "BType" } // BType\n/* BType */\n',
        'B/B.swift': 'struct BType { var a: AType }\n',
    })
    _, lines = stagegraph.problems(root)
    assert lines == []


def test_extension_members_on_foreign_types_are_names_too(tmp_path):
    root = write(tmp_path, {
        'Decode/Loads.swift': 'extension UnsafeRawPointer {\n    func be16(_ o: Int) -> UInt16 { 0 }\n}\nstruct Decoder { var s: Sender? }\n',
        'Send/Sender.swift': 'struct Sender { func f(_ p: UnsafeRawPointer) { _ = p.be16(0) } }\n',
    })
    _, lines = stagegraph.problems(root)
    assert len(lines) == 1 and 'Decode, Send' in lines[0]


def test_the_base_folder_may_use_nothing(tmp_path):
    root = write(tmp_path, {
        'Base/Clock.swift': 'struct Clock { var t: Ticker? }\n',
        'Device/Ticker.swift': 'struct Ticker {}\n',
    })
    _, lines = stagegraph.problems(root)
    assert lines == ['Base uses Device (Ticker): the base folder must depend on nothing']


def test_flowtaps_own_stages_have_no_cycle():
    _, lines = stagegraph.problems(os.path.join(ROOT, 'Sources', 'FlowTap'))
    assert lines == []
