"""flowcheck.py: each mode passes what matches the capture and fails what does not."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
import flowcheck  # noqa: E402

TCP = ["10.77.0.1", "10.77.0.2", 6, 40001, 5201]
ICMP = ["10.77.0.1", "10.77.0.2", 1, 0, 2048]


def test_counts_sums_a_flows_records_and_ignores_icmp_ports():
    truth = [[TCP, 10, 1000], [ICMP, 3, 252]]
    collected = [[TCP, 4, 400], [TCP, 6, 600], [["10.77.0.1", "10.77.0.2", 1, 8, 0], 3, 252]]
    ok, lines = flowcheck.counts(truth, collected, minimum=2)
    assert ok, lines


def test_counts_fails_on_a_packet_too_many_an_extra_flow_or_too_few_flows():
    truth = [[TCP, 10, 1000]]
    assert not flowcheck.counts(truth, [[TCP, 11, 1000]])[0]
    assert not flowcheck.counts(truth, [[TCP, 10, 1000], [ICMP, 1, 84]])[0]
    assert not flowcheck.counts(truth, [[TCP, 10, 1000]], minimum=2)[0]


def test_counts_ipv4_only_leaves_ipv6_out():
    v6 = ["fd00:77::1", "fd00:77::2", 17, 1, 2]
    assert flowcheck.counts([[TCP, 1, 60], [v6, 1, 60]], [[TCP, 1, 60]], ipv4_only=True)[0]


def truth_flow(**over):
    t = {"key": TCP, "capture": "tapa", "packets": 10, "bytes": 1000, "tcp_flags": 0x1B, "tos": [0],
         "icmp": None, "first": 100.0, "last": 101.0}
    t.update(over)
    return t


def record(**over):
    r = {"key": TCP, "packets": 10, "bytes": 1000, "tcp_flags": 0x1B, "tos": 0, "in": 7, "out": 8,
         "direction": 0, "start": 100.0004, "end": 101.0004, "reason": 3}
    r.update(over)
    return r


IFINDEX = {"tapa": 7, "tapb": 8}


def test_fields_passes_a_faithful_record():
    ok, lines = flowcheck.fields([truth_flow()], [record()], IFINDEX)
    assert ok, lines


def test_fields_fails_on_each_wrong_field():
    for wrong in [dict(packets=9), dict(tcp_flags=0x13), dict(tos=4), dict(**{"in": 8, "out": 7}),
                  dict(direction=1), dict(start=100.002), dict(reason=1)]:
        ok, lines = flowcheck.fields([truth_flow()], [record(**wrong)], IFINDEX)
        assert not ok, wrong


def test_fields_wants_reason_3_where_the_reverse_was_reset():
    reverse = truth_flow(key=["10.77.0.2", "10.77.0.1", 6, 5201, 40001], capture="tapb", tcp_flags=0x14)
    mine = truth_flow(tcp_flags=0x10)
    rev = record(key=reverse["key"], **{"in": 8, "out": 7}, direction=1, tcp_flags=0x14)
    assert flowcheck.fields([mine, reverse], [record(tcp_flags=0x10), rev], IFINDEX)[0]
    assert not flowcheck.fields([mine, reverse], [record(tcp_flags=0x10, reason=1), rev], IFINDEX)[0]


def test_times_and_starts_hold_the_tolerance():
    truth = [{"key": TCP, "first": 100.0, "last": 101.0}]
    assert flowcheck.times(truth, [[TCP, 100.0009, 101.0]])[0]
    assert not flowcheck.times(truth, [[TCP, 100.0011, 101.0]])[0]
    assert not flowcheck.times(truth, [[TCP, 100.0, 101.0], [ICMP, 1.0, 2.0]])[0]
    rows = [[["10.77.0.%d" % i, "10.77.0.2", 17, 1, 2], 0, 0, 100.0 + i] for i in range(5)]
    assert flowcheck.starts(rows, [[k, t + 2208988800.0005] for k, _, _, t in rows], epoch_offset=2208988800)[0]
    assert not flowcheck.starts(rows, [[k, t + 0.002] for k, _, _, t in rows])[0]
    assert not flowcheck.starts(rows[:4], [[k, t] for k, _, _, t in rows[:4]])[0]


def test_a_time_may_be_late_by_what_flowtap_held_the_frame_never_early():
    # Held 3.5 ms: a start 3 ms late is inside the window; held 1 ms, it is not.
    assert flowcheck.fields([truth_flow(first_held=0.0035, last_held=0.0)], [record(start=100.003, end=101.0)], IFINDEX)[0]
    assert not flowcheck.fields([truth_flow(first_held=0.001, last_held=0.0)], [record(start=100.003, end=101.0)], IFINDEX)[0]
    assert not flowcheck.fields([truth_flow(first_held=0.01, last_held=0.01)], [record(start=99.997, end=101.0)], IFINDEX)[0]
    truth = [{"key": TCP, "first": 100.0, "last": 101.0, "first_held": 0.0, "last_held": 0.004}]
    assert flowcheck.times(truth, [[TCP, 100.0, 101.0045]])[0]
    assert not flowcheck.times(truth, [[TCP, 100.0, 101.0055]])[0]
    rows = [[["10.77.0.%d" % i, "10.77.0.2", 17, 1, 2], 0, 0, 100.0 + i, 0.003] for i in range(5)]
    assert flowcheck.starts(rows, [[r[0], r[3] + 0.0035] for r in rows])[0]
    assert not flowcheck.starts(rows, [[r[0], r[3] + 0.0045] for r in rows])[0]
    assert not flowcheck.starts(rows, [[r[0], r[3] - 0.0015] for r in rows])[0]


def test_counts_once_fails_on_a_flow_split_in_two_records():
    truth = [[["10.0.0.1", "10.0.0.2", 17, 5000, 6000], 10, 1000]]
    split = [[["10.0.0.1", "10.0.0.2", 17, 5000, 6000], 4, 400], [["10.0.0.1", "10.0.0.2", 17, 5000, 6000], 6, 600]]
    assert flowcheck.counts(truth, split)[0]
    assert not flowcheck.counts(truth, split, once=True)[0]
    assert flowcheck.counts(truth, truth, once=True)[0]


def test_counts_slack_allows_a_few_packets_short_never_more():
    truth = [[["10.0.0.1", "10.0.0.2", 17, 5000, 6000], 10, 1000]]
    short = [[["10.0.0.1", "10.0.0.2", 17, 5000, 6000], 8, 800]]
    more = [[["10.0.0.1", "10.0.0.2", 17, 5000, 6000], 11, 1100]]
    assert not flowcheck.counts(truth, short)[0]
    assert flowcheck.counts(truth, short, slack=2)[0]
    assert not flowcheck.counts(truth, short, slack=1)[0]
    assert not flowcheck.counts(truth, more, slack=5)[0]
