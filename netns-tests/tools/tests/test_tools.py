"""The test tools' subcommands on small inputs whose answers are known: every check passes what
holds and fails what does not, every converter gives the rows the tests read."""
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import controlcheck  # noqa: E402
import convert  # noqa: E402
import inject  # noqa: E402
import recordcheck  # noqa: E402
import servicecheck  # noqa: E402
import sockets  # noqa: E402


def write(tmp_path, name, value):
    p = tmp_path / name
    p.write_text(value if isinstance(value, str) else json.dumps(value))
    return str(p)


# controlcheck

STATS = {"directions": [dict(name=n, queue=0, frames=f, bytes=1, flows_active=a, flows_created=1, kernel_drops=0,
                             reset_notices={"closed": c, "unmatched": 0, "lost": 0})
                        for n, f, a, c in (("tapa->tapb", 21, 1, 2), ("tapb->tapa", 20, 0, 0))],
         "collectors": [dict(url="ipfix://10.77.9.2:4739", messages=1, records=2, send_errors=0, records_lost=0,
                             last_error="", icmp_errors=1)]}


def test_controlcheck_stats(tmp_path, capsys):
    path = write(tmp_path, "stats.json", STATS)
    assert controlcheck.stats_keys(path)
    broken = json.loads(json.dumps(STATS))
    del broken["directions"][0]["kernel_drops"]
    assert not controlcheck.stats_keys(write(tmp_path, "broken.json", broken))
    controlcheck.frames(path, "tapb->tapa")
    assert capsys.readouterr().out.strip().endswith("20")
    assert not controlcheck.flows_active(path, "1")
    assert controlcheck.flows_active_by_name(path, "tapa->tapb=1,tapb->tapa=0")
    assert not controlcheck.flows_active_by_name(path, "tapa->tapb=0,tapb->tapa=1")
    assert controlcheck.icmp_errors(write(tmp_path, "c.json", STATS["collectors"]))


def test_controlcheck_resets_need_every_queue(tmp_path):
    two = json.loads(json.dumps(STATS))
    two["directions"][1]["queue"] = 1
    assert not controlcheck.resets_per_queue(write(tmp_path, "s.json", two), "2")
    two["directions"][1]["reset_notices"]["closed"] = 3
    assert controlcheck.resets_per_queue(write(tmp_path, "s.json", two), "2")


def test_controlcheck_flows(tmp_path):
    flows = [dict(src="10.77.0.1", dst="10.77.0.2", sport=0, dport=2048, proto=1, packets=21, bytes=1764, direction="tapa->tapb")]
    path = write(tmp_path, "flows.json", flows)
    assert controlcheck.flow_listed(path, "10.77.0.1", "10.77.0.2", "21")
    assert not controlcheck.flow_listed(path, "10.77.0.1", "10.77.0.2", "20")
    assert controlcheck.flows_only(path, "10.77.0.1", "tapa->tapb")
    assert not controlcheck.flows_only(path, "10.77.0.2", "tapa->tapb")
    assert controlcheck.flows_count(path, "1") and not controlcheck.flows_count(path, "2")


# convert

def test_tshark_field_rows(tmp_path, capsys):
    convert.tshark_records(write(tmp_path, "r.txt", "a,b\t1,2\n\t\n"))
    assert capsys.readouterr().out == "a 1\nb 2\n"
    convert.tshark_label_pairs(write(tmp_path, "l.txt", "1000,2000,3000,4000\t5,6\n"))
    assert capsys.readouterr().out == "1000 2000 5\n3000 4000 6\n"


def test_tshark_starts_are_unix_seconds():
    rows = convert.starts_rows(["Jan  2, 2026 03:04:05.250000000 UTC\t10.0.0.1\t10.0.0.2\t17\t1\t2\n"])
    assert rows == [[["10.0.0.1", "10.0.0.2", 17, 1, 2], 1767323045.25]]


def test_tshark_json_walks():
    tree = [{"cflow.version": "10", "x": [{"cflow.srcaddr": "10.0.0.1", "cflow.srcport": "1", "cflow.dstaddr": "10.0.0.2",
                                            "cflow.dstport": "80", "cflow.protocol": "6",
                                            "cflow.pie.ntop.client_nw_latency_ms": "0.002",
                                            "cflow.pie.server_nw_latency_ms": "0.003", "cflow.pie.ntop.appl_latency_ms": "0.004",
                                            "cflow.pie.ntop.retransmitted_in_pkts": "5", "cflow.pie.ntop.ooorder_in_pkts": "1"}]},
            {"cflow.version": "9", "y": {"cflow.srcaddr": "10.0.0.2", "cflow.srcport": "80", "cflow.dstaddr": "10.0.0.1",
                                         "cflow.dstport": "1", "cflow.protocol": "6", "cflow.retransmitted_in_pkts": "0"}}]
    lat = convert.ntop_latency_records(tree)
    assert lat == [{"flow": ["10.0.0.1", 1, "10.0.0.2", 80], "client_us": 4, "server_us": 6, "app_us": 4}]
    ins = convert.tcp_insight_records(tree)
    assert ins[10] == [{"flow": ["10.0.0.1", 1, "10.0.0.2", 80], "retransmitted": 5, "out_of_order": 1}]
    assert ins[9] == [{"flow": ["10.0.0.2", 80, "10.0.0.1", 1], "retransmitted": 0, "out_of_order": None}]


def test_nfdump_latency_and_prometheus_and_rtt():
    rows = convert.nfdump_latency_rows(["10.0.0.1, 40000, 10.0.0.2, 80, TCP, 2.5, 3.0, 1.0\n", "Summary: x\n",
                                        "10.0.0.1, 0, 10.0.0.2, 8.0, ICMP, 0, 0, 0\n"])
    assert rows[0] == {"flow": ["10.0.0.1", 40000, "10.0.0.2", 80], "proto": "TCP", "client_us": 2500, "server_us": 3000, "app_us": 1000}
    assert rows[1]["flow"][3] == "8.0" and len(rows) == 2
    answer = {"status": "success", "data": {"result": [
        {"metric": {"__name__": "x", "job": "j", "queue": "0", "direction": "a"}, "value": [0, "5"]},
        {"metric": {"__name__": "x"}, "value": [0, "1"]}]}}
    assert convert.prom_series_lines(answer) == ["- 1", "direction=a,queue=0 5"]
    with pytest.raises(AssertionError):
        convert.prom_series_lines({"status": "error"})
    table = convert.rtt_table_lines(["c-plain 0.2\n", "c-plain 0.2\n", "flowtap 0.1\n"])
    assert table[2] == "| c-plain | 2 | 200 | 200 | 1.00 | 1.00 |" and table[3].endswith("| 0.50 | 0.50 |")


def test_row_helpers(tmp_path, capsys, monkeypatch):
    rows = [[["10.77.50.1", "x", 6, 1, 2], 3, 300], [["10.77.0.1", "x", 6, 1, 2], 4, 400], [["fd00:50::1", "x", 17, 1, 2], 5, 50]]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(rows)))
    convert.rows_from("10.77.50.", "fd00:50:")
    assert [r[1] for r in json.loads(capsys.readouterr().out)] == [3, 5]
    convert.sum_packets(write(tmp_path, "rows.json", rows), "10.77.0.1", "6")
    assert capsys.readouterr().out.strip() == "4"
    convert.total("packets", write(tmp_path, "a.json", {"packets": 2}), write(tmp_path, "b.json", {"packets": 3}))
    assert capsys.readouterr().out.strip() == "5"
    out = str(tmp_path / "flows.json")
    convert.key(write(tmp_path, "o.json", {"flows": [1]}), "flows", out)
    assert json.load(open(out)) == [1]
    r = {"starts": [[["a", "b", 17, 1, 2], 1.5, "flowStartMicroseconds"]]}
    assert convert.py_starts(write(tmp_path, "p.json", r), out, "flowStartMicroseconds") is None
    assert json.load(open(out)) == [[["a", "b", 17, 1, 2], 1.5]]
    assert convert.py_starts(write(tmp_path, "p.json", r), out, "flowStartNanoseconds") is False


# recordcheck

def test_undecodable_reasons(tmp_path):
    expected = write(tmp_path, "e.json", {"issues": {"truncated-ipv4": 2}, "non_ip": 3})
    good = write(tmp_path, "good.log", "flowtap: stopped: ... 0 undecodable, 3 non-IP, ...\nflowtap: undecodable frames by reason: truncated-ipv4=2\n")
    bad = write(tmp_path, "bad.log", "flowtap: stopped: ... 3 non-IP\nflowtap: undecodable frames by reason: truncated-ipv4=1\n")
    assert recordcheck.undecodable_reasons(expected, good) and not recordcheck.undecodable_reasons(expected, bad)


CSV_HEAD = "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt\n"


def test_biflow_conversations(tmp_path):
    truth = []
    rows = CSV_HEAD
    for i in range(6):
        a, b = f"10.0.0.{i + 1}", "10.0.1.1"
        truth += [[[a, b, 17, 1000 + i, 53], 2, 200, 1.0], [[b, a, 17, 53, 1000 + i], 1, 100, 2.0]]
        rows += f"0,0,0,{a},{b},{1000 + i},53,UDP,......,0,0,2,200,1,100\n"
    t = write(tmp_path, "t.json", truth)
    assert recordcheck.biflow_conversations(t, write(tmp_path, "ok.csv", rows + "\nSummary: ...\n"))
    assert not recordcheck.biflow_conversations(t, write(tmp_path, "bad.csv", rows.replace(",2,200,1,100\n", ",2,200,0,0\n", 1)))
    assert recordcheck.conversation_reverse(("a", "b", 1, 0, 8 << 8)) == ("b", "a", 1, 0, 0)


def test_wire_variety_and_transports(tmp_path):
    t = [{"key": ["a", "b", 6, 1, 2], "tos": [0x28, 0xb8, 0x10, 0x20, 0x48], "icmp": None, "tcp_flags": 0x11},
         {"key": ["a", "b", 6, 3, 4], "tos": [0], "icmp": None, "tcp_flags": 0x14}]
    t += [{"key": ["a", "b", 1, 0, 0], "tos": [0], "icmp": i, "tcp_flags": 0} for i in (0x0800, 0x0000, 0x0303, 0x8000, 0x8100)]
    assert recordcheck.wire_variety(write(tmp_path, "t.json", t))
    assert not recordcheck.wire_variety(write(tmp_path, "t.json", t[1:]))
    rows = [[["fd00::1", "fd00::2", 6, 1, 2], 1, 1], [["fd00::1", "fd00::2", 17, 1, 2], 1, 1]]
    assert recordcheck.ipv6_transports(write(tmp_path, "r.json", rows))
    assert not recordcheck.ipv6_transports(write(tmp_path, "r.json", rows[:1]))


def test_pycollect_clean(tmp_path):
    r = {"notes": [], "unparsed": 0, "sequence_errors": 0, "messages": 3}
    assert recordcheck.pycollect_clean(write(tmp_path, "r.json", r))
    assert not recordcheck.pycollect_clean(write(tmp_path, "r.json", dict(r, sequence_errors=1)))
    two = write(tmp_path, "two.json", dict(r, messages=2))
    assert not recordcheck.pycollect_clean(two)
    assert recordcheck.pycollect_clean(two, "2")


def test_end_reasons_from_tshark_columns(tmp_path):
    tsv = write(tmp_path, "r.tsv", "8080,8080\t30000,30001\t6,6\t3,3\n\t\t\t\n")
    assert recordcheck.server_side_reasons(tsv, "8080", "30000", "2")
    assert not recordcheck.server_side_reasons(write(tmp_path, "r.tsv", "8080,8080\t30000,30001\t6,6\t3,2\n"), "8080", "30000", "2")
    fields = write(tmp_path, "f.json", [{"key": ["10.0.0.1", "10.0.0.2", 6, 30000, 8080], "tcp_flags": 0x14}])
    six = write(tmp_path, "six.tsv", "10.0.0.1,10.0.0.2\t30000,8080\t10.0.0.2,10.0.0.1\t8080,30000\t6,6\t3,3\n")
    assert recordcheck.tcp_end_reasons(fields, six, "1", "1")
    assert not recordcheck.tcp_end_reasons(fields, write(tmp_path, "s.tsv", "10.0.0.1,10.0.0.2\t30000,8080\t10.0.0.2,10.0.0.1\t8080,30000\t6,6\t3,2\n"), "1", "1")


def test_one_record_per_direction(tmp_path):
    truth = write(tmp_path, "t.json", [[["10.0.0.1", "10.0.0.2", 6, 1, 2], 3, 180]])
    one = CSV_HEAD + "0,0,0,10.0.0.1,10.0.0.2,1,2,TCP,...AP.SF,0,0,3,180,0,0\n"
    assert recordcheck.one_record_per_direction(truth, write(tmp_path, "a.csv", one), "1")
    assert not recordcheck.one_record_per_direction(truth, write(tmp_path, "b.csv", one + one.split("\n")[1] + "\n"), "1")
    ack = one + "0,0,0,10.0.0.1,10.0.0.2,1,2,TCP,....A...,0,0,1,40,0,0\n"
    assert not recordcheck.one_record_per_direction(truth, write(tmp_path, "c.csv", ack), "1")


def test_latency_checks(tmp_path):
    truth = [{"client": ["10.0.0.1", 40000 + i], "server_us": 2000 + i, "client_us": 3000 + i, "app_us": 1000} for i in range(3)]
    assert recordcheck.latency_truth(write(tmp_path, "t.json", truth), "3")
    assert not recordcheck.latency_truth(write(tmp_path, "t.json", truth), "4")
    one_alike = [dict(c, server_us=2000) for c in truth]
    assert recordcheck.latency_truth(write(tmp_path, "t.json", one_alike), "3")
    same = [dict(c, server_us=2000, client_us=3000) for c in truth]
    assert not recordcheck.latency_truth(write(tmp_path, "t.json", same), "3")
    icmp = [{"proto": "ICMP", "client_us": 0, "server_us": 0, "app_us": 0}]
    assert recordcheck.zero_latency_icmp(write(tmp_path, "v.json", icmp))
    assert not recordcheck.zero_latency_icmp(write(tmp_path, "v.json", [dict(icmp[0], app_us=1)]))


def test_retransmission_checks(tmp_path):
    flow = ["10.0.0.1", 40000, "10.0.0.2", 80]
    truth = write(tmp_path, "t.json", [{"flow": flow, "retransmitted": 4, "out_of_order": 1, "segments": 500}])
    lossy = write(tmp_path, "l.json", [{"client": flow[:2], "server": flow[2:], "lost": [1, 2, 3, 4], "swapped": [5]}])
    clean = write(tmp_path, "c.json", [])
    assert recordcheck.retransmission_plan(truth, lossy, clean)
    assert not recordcheck.retransmission_plan(truth, write(tmp_path, "l2.json", [{"client": flow[:2], "server": flow[2:], "lost": [1, 2, 3], "swapped": [5]}]), clean)
    records = [{"flow": flow, "retransmitted": 3, "out_of_order": 1}, {"flow": flow, "retransmitted": 1, "out_of_order": 0}]
    assert recordcheck.retransmission_counts(truth, write(tmp_path, "r.json", records))
    assert not recordcheck.retransmission_counts(truth, write(tmp_path, "r.json", records[:1]))
    assert not recordcheck.retransmission_counts(truth, write(tmp_path, "r.json", [dict(records[0], out_of_order=None)]))
    live = write(tmp_path, "live.json", [{"flow": flow, "retransmitted": 4, "out_of_order": 1}])
    assert recordcheck.retransmissions_as_tshark(write(tmp_path, "ts.txt", "4 40000\n"), live, lossy)
    assert not recordcheck.retransmissions_as_tshark(write(tmp_path, "ts.txt", "9 40000\n"), live, lossy)


def test_udp_burst_whole(tmp_path):
    assert recordcheck.udp_burst_whole(write(tmp_path, "i.json", {"end": {"sum": {"lost_packets": 0}}}))
    assert not recordcheck.udp_burst_whole(write(tmp_path, "i.json", {"end": {"sum": {"lost_packets": 2}}}))


# servicecheck

def test_watchdog_checks(tmp_path):
    notify = write(tmp_path, "n.log", "listening\n" + "".join(f"{t:.3f} WATCHDOG=1\n" for t in (1.0, 1.2, 1.4, 3.5, 3.7)))
    freeze = write(tmp_path, "f.log", "1.5 frozen\n3.4 thawed\n")
    assert servicecheck.watchdog_before_hang(notify, freeze, "0.4")
    assert not servicecheck.watchdog_before_hang(notify, freeze, "0.1")
    assert servicecheck.watchdog_during_hang(notify, freeze, "0.4")
    during = write(tmp_path, "d.log", "listening\n1.0 WATCHDOG=1\n2.5 WATCHDOG=1\n3.5 WATCHDOG=1\n")
    assert not servicecheck.watchdog_during_hang(during, freeze, "0.4")


def test_json_log(tmp_path):
    good = write(tmp_path, "g.log", '{"time":"t","level":"info","message":"m"}\nflowtap: stopped\n')
    assert servicecheck.json_log(good)
    assert not servicecheck.json_log(write(tmp_path, "b.log", '{"time":"t","level":"info"}\n'))


# sockets

def test_sink_and_hold_port_and_notify():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    t = threading.Thread(target=sockets.sink, args=("127.0.0.1", str(port)), kwargs={"rounds": 1})
    t.start()
    time.sleep(0.2)
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", port))
    t.join(5)
    assert not t.is_alive()
    holder = threading.Thread(target=sockets.hold_port, args=("127.0.0.1", str(port), "1"))
    holder.start()
    time.sleep(0.3)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port + 1 if port < 65535 else port - 1), timeout=1).close()
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    holder.join(5)
    assert sockets.notify_line("READY=1\nSTATUS=x", 1.5) == "1.500 READY=1|STATUS=x"


# inject

def test_inject_frames():
    frames = inject.udp_frames("02:00:00:00:00:01", "02:00:00:00:00:02", "10.0.0.1", "10.0.0.2", "1", "2", "40", "3")
    assert len(frames) == 3 and len(bytes(frames[0])) == 14 + 20 + 8 + 40
    l2 = [bytes(f) for f in inject.l2_frames("02:00:00:00:00:01", "02:00:00:00:00:02")]
    assert len(l2) == 14
    assert l2[0][12:16] == b"\x81\x00\x00\x64"                       # 802.1Q, VLAN 100
    assert l2[3][12:14] == b"\x88\xa8" and l2[3][16:18] == b"\x81\x00"  # QinQ
    assert l2[5][12:14] == b"\x08\x06"                               # ARP
    assert l2[9][12:14] == b"\x88\x47" and l2[9][14:22] == bytes.fromhex("003e8040007d0140")  # MPLS 1000 over 2000, bottom set


def test_a_check_is_its_exit_status(tmp_path):
    import subprocess
    tool = os.path.join(os.path.dirname(__file__), "..", "controlcheck.py")
    flows = write(tmp_path, "f.json", [{}])
    run = lambda *a: subprocess.run([sys.executable, tool, *a], capture_output=True).returncode
    assert (run("flows-count", flows, "1"), run("flows-count", flows, "2"), run("no-such-command")) == (0, 1, 2)


def test_streams_counts_loss_reordering_duplicates_and_gaps(tmp_path):
    import streams
    ms = 1_000_000
    arrivals = [(0, 0, 1 * ms), (2, 2 * ms, 3 * ms), (1, 1 * ms, 25 * ms), (2, 2 * ms, 26 * ms), (4, 4 * ms, 27 * ms)]
    r = streams.stats(arrivals, 6)
    assert (r["received"], r["lost"], r["reordered"], r["duplicated"]) == (4, 2, 1, 1)
    assert r["max_gap_ms"] == 22 and r["max_delay_ms"] == 24
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(streams.stats([(0, 0, ms), (1, ms, 2 * ms)], 2)))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(r))
    assert streams.check(str(clean))
    assert not streams.check(str(bad))
    assert not streams.check(str(clean), "--max-gap", "0.5")
    assert streams.report(str(bad)) is None


def test_procs_kills_the_pid_a_matching_line_names(tmp_path):
    import subprocess
    import procs
    victim = subprocess.Popen(["sleep", "30"])
    log = tmp_path / "log"
    log.write_text("starting\n")
    assert not procs.kill_on_line(str(log), r"handover to PID (\d+)", "0.05")
    log.write_text(f"starting\nhandover to PID {victim.pid}: descriptors passed\n")
    assert procs.kill_on_line(str(log), r"handover to PID (\d+)", "1")
    assert victim.wait(timeout=5) == -9


def write_pcap(path, records):
    """A classic µs pcap of (time, frame bytes) records."""
    import struct
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in records:
            f.write(struct.pack("<IIII", int(ts), round((ts % 1) * 1e6), len(frame), len(frame)) + frame)


def test_held_pairs_each_frame_with_its_forwarded_copy_in_order(tmp_path):
    import held
    a, b, c = b"A" * 60, b"B" * 60, b"C" * 60
    write_pcap(tmp_path / "in.pcap", [(10.0, a), (10.1, a), (10.2, b), (10.3, c)])
    write_pcap(tmp_path / "out.pcap", [(10.002, a), (10.105, a), (10.2005, b)])
    got = [(round(ts, 3), kept if kept is None else round(kept, 4))
           for ts, _, kept in held.frames_held(str(tmp_path / "in.pcap"), held.index([str(tmp_path / "out.pcap")]))]
    assert got == [(10.0, 0.002), (10.1, 0.005), (10.2, 0.0005), (10.3, None)]
    assert held.outside(0.004, 0.005, 0.001) == 0 and held.outside(-0.0009, None, 0.001) == 0
    assert round(held.outside(0.007, 0.005, 0.001), 6) == 0.001 and round(held.outside(-0.002, 0.005, 0.001), 6) == 0.001


def test_tcpinsight_compare_allows_what_flowtap_held_the_two_packets(tmp_path):
    import tcpinsight
    t = {"client": ["10.0.0.1", 40000], "server": ["10.0.0.2", 80], "server_us": 2000, "client_us": 3000, "app_us": 5000,
         "server_held": [0, 0], "client_held": [0, 0], "app_held": [400, 2500]}
    m = {"flow": ["10.0.0.1", 40000, "10.0.0.2", 80], "server_us": 2000, "client_us": 3000, "app_us": 5000}
    tp = write(tmp_path, "t.json", [t])
    assert tcpinsight.compare(tp, write(tmp_path, "m.json", [dict(m, app_us=8400)]), 1, 1000)
    assert not tcpinsight.compare(tp, write(tmp_path, "m.json", [dict(m, app_us=8600)]), 1, 1000)
    assert tcpinsight.compare(tp, write(tmp_path, "m.json", [dict(m, app_us=3700)]), 1, 1000)
    assert not tcpinsight.compare(tp, write(tmp_path, "m.json", [dict(m, app_us=3500)]), 1, 1000)
    assert not tcpinsight.compare(tp, write(tmp_path, "m.json", [dict(m, client_us=4100)]), 1, 1000)


def test_capconvert_writes_each_form_and_gencapture_its_mix(tmp_path):
    import struct
    import capconvert
    import gencapture
    from pcapfile import frames
    gencapture.main([str(tmp_path / "g.pcap"), "400", "--flows", "40", "--seconds", "2"])
    got = list(frames(str(tmp_path / "g.pcap")))
    assert len(got) > 200
    assert all(a[0] <= b[0] for a, b in zip(got, got[1:])), "in time order"
    types = {struct.unpack(">H", f[12:14])[0] for _, f in got}
    assert {0x0800, 0x86DD, 0x8100} <= types
    src = str(tmp_path / "g.pcap")
    capconvert.main([src, str(tmp_path / "raw.pcap"), "--link", "raw", "--big-endian", "--ns", "--first", "100"])
    data = (tmp_path / "raw.pcap").read_bytes()
    assert data[:4] == b"\xa1\xb2\x3c\x4d" and struct.unpack(">I", data[20:24])[0] == 101
    raw = list(frames(str(tmp_path / "raw.pcap")))
    plain = [(t, f) for t, f in got[:100] if struct.unpack(">H", f[12:14])[0] in (0x0800, 0x86DD)]
    assert plain and [f for _, f in raw] == [f[14:] for _, f in plain], "raw IP: the frames less their Ethernet header"
    assert all(abs(a[0] - b[0]) < 1e-6 for a, b in zip(raw, plain)), "the same times"
    capconvert.main([src, str(tmp_path / "sll2.pcap"), "--link", "sll2", "--first", "1"])
    (_, f), = frames(str(tmp_path / "sll2.pcap"))
    assert f[:2] == got[0][1][12:14] and f[20:] == got[0][1][14:]


def test_capconvert_link_headers_and_pcapflows_pppoe(tmp_path):
    import struct
    import capconvert
    import pcapflows
    from pcapfile import frames
    v4 = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + bytes([0x45, 0, 0, 28]) + bytes(16) + bytes(8)
    v6 = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x86\xdd" + bytes([0x60]) + bytes(39)
    src = tmp_path / "e.pcap"
    write_pcap(src, [(1.0, v4), (2.0, v6)])
    expected = {"null": (0, b"\x02\0\0\0", b"\x1e\0\0\0"), "null-be": (0, b"\0\0\0\x02", b"\0\0\0\x1c"),
                "loop": (108, b"\0\0\0\x02", b"\0\0\0\x18"), "ppp": (9, b"\xff\x03\x00\x21", b"\xff\x03\x00\x57"),
                "ppp-bare": (9, b"\x21", b"\x00\x57"), "ppp-hdlc": (50, b"\xff\x03\x00\x21", b"\xff\x03\x00\x57"),
                "chdlc": (104, b"\x0f\x00\x08\x00", b"\x0f\x00\x86\xdd"), "chdlc-as-ppp": (9, b"\x0f\x00\x08\x00", b"\x0f\x00\x86\xdd"),
                "raw12": (12, b"", b""), "raw14": (14, b"", b"")}
    for link, (linktype, h4, h6) in expected.items():
        out = tmp_path / f"{link}.pcap"
        capconvert.main([str(src), str(out), "--link", link])
        assert struct.unpack("<I", out.read_bytes()[20:24])[0] == linktype, link
        assert [f for _, f in frames(str(out))] == [h4 + v4[14:], h6 + v6[14:]], link
    pppoe = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x88\x64" + bytes([0x11, 0, 0x11, 0x11, 0, 30, 0, 0x21]) + v4[14:]
    assert pcapflows.flow(pppoe) == pcapflows.flow(v4), "a PPPoE session's IP packet is its flow"
    compressed = pppoe[:20] + b"\x21" + v4[14:]
    assert pcapflows.flow(compressed) == pcapflows.flow(v4), "its protocol compressed to one byte"


def test_inject_pppoe_frames():
    frames = [bytes(f) for f in inject.pppoe_frames("02:00:00:00:00:01", "02:00:00:00:00:02")]
    assert len(frames) == 10 + 6 + 5 + 7 + 3 + 2
    assert frames[0][12:14] == b"\x88\x64" and frames[0][14:16] == b"\x11\x00" and frames[0][20:22] == b"\x00\x21"
    assert frames[16][12:14] == b"\x88\xa8" and frames[16][20:22] == b"\x88\x64"   # QinQ, then PPPoE
    assert frames[16][28:30] == b"\x21\x45"                                          # a compressed protocol
    assert frames[21][20:22] == b"\x00\x57"                                          # IPv6
    assert frames[-1][12:14] == b"\x88\x63"                                          # discovery


def test_printed_records_match_the_file(tmp_path):
    rows = [[["10.0.0.1", "10.0.0.2", 17, 1, 2], 3, 300], [["10.0.0.2", "10.0.0.1", 1, 0, 0], 1, 84]] * 6
    f = write(tmp_path, "file.json", {"rows": rows})
    lines = [dict(src=k[0], dst=k[1], proto=k[2], sport=k[3], dport=0x800 if k[2] == 1 else k[4], packets=p, bytes=b)
             for k, p, b in rows]
    jsonl = write(tmp_path, "r.jsonl", "\n".join(json.dumps(line) for line in lines))
    body = sorted(rows, key=lambda r: -r[2])
    table = ["src dst sport dport proto packets bytes end"] + [f"{k[0]} {k[1]} {k[3]} {k[4]} {k[2]} {p} {b} idle" for k, p, b in body]
    good = write(tmp_path, "t.txt", "\n".join(table + ["total: 12 records, 24 packets, 2304 bytes"]))
    assert recordcheck.printed(f, jsonl, good)
    assert not recordcheck.printed(f, write(tmp_path, "r2.jsonl", "\n".join(json.dumps(line) for line in reversed(lines))), good)
    assert not recordcheck.printed(f, jsonl, write(tmp_path, "t2.txt", "\n".join(table + ["total: 12 records, 25 packets, 2304 bytes"])))
    unsorted = table[:1] + list(reversed(table[1:]))
    assert not recordcheck.printed(f, jsonl, write(tmp_path, "t3.txt", "\n".join(unsorted + ["total: 12 records, 24 packets, 2304 bytes"])))


# appcheck

def test_appcheck_reads_nfdump_names_and_compares(tmp_path):
    import appcheck
    lines = write(tmp_path, "nfdump.txt", "\n".join([
        "       10.77.0.1| 40000|       10.77.0.2|  4433|6    | 6..1|tls/TLS over TCP, from its ClientHello",
        "       10.77.0.2|    53|       10.77.0.1| 40001|17   | 6..3|dns/DNS, from its question",
        "       10.77.0.1| 40002|       10.77.0.2|  8081|6    |0..0..0|<no nbar>",
        "Summary: nothing to read here",
    ]) + "\n")
    got = appcheck.nfdump(lines)
    assert got == [
        {"key": "10.77.0.1:40000>10.77.0.2:4433/tcp", "appId": "6..1", "app": "tls"},
        {"key": "10.77.0.2:53>10.77.0.1:40001/udp", "appId": "6..3", "app": "dns"},
        {"key": "10.77.0.1:40002>10.77.0.2:8081/tcp", "appId": "0..0..0"},
    ]
    got_path = write(tmp_path, "got.json", got)
    right = write(tmp_path, "truth.json", [{"key": "10.77.0.1:40000>10.77.0.2:4433/tcp", "app": "tls"}])
    wrong = write(tmp_path, "wrong.json", [{"key": "10.77.0.1:40002>10.77.0.2:8081/tcp", "app": "http"}])
    assert appcheck.compare(right, got_path, 1, ["app"])
    assert not appcheck.compare(wrong, got_path, 1, ["app"])


# lib.sh's CLIENT_PORTS

def test_client_ports_name_no_protocol_in_tshark():
    """The hosts' ephemeral ports are ones tshark decodes as nothing, so that the ground truth reads
    every connection by its server's port (see topology_up)."""
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    lib = open(os.path.join(os.path.dirname(__file__), '..', '..', 'lib.sh')).read()
    low, high = map(int, re.search(r'^CLIENT_PORTS="(\d+) (\d+)"$', lib, re.M).groups())
    assert 32768 <= low < high - 1000
    table = subprocess.run(["tshark", "-G", "decodes"], capture_output=True, text=True, check=True).stdout
    taken = [line for line in table.splitlines()
             if line.split("\t")[0] in ("tcp.port", "udp.port") and low <= int(line.split("\t")[1]) <= high]
    assert not taken
    # The check can fail: the ports left out of the range are taken.
    assert any(line.startswith("tcp.port\t44818\t") for line in table.splitlines())
