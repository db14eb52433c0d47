#!/usr/bin/env python3
"""recordcheck.py COMMAND ARGS...: the netns tests' checks of records, captures and logs that
are more than a comparison of flows (flowcheck.py does those). Each prints what it saw.

  undecodable-reasons EXPECTED LOG     the closing lines count each hostile frame under its
                                       reason and the non-IP frames, as the corpus expects
  biflow-conversations TRUTH CSV       nfdump holds each conversation once: the initiator's
                                       counts in, the responder's out (at least 6)
  wire-variety TRUTH                   the capture has the ToS values, ICMP types and TCP endings sent
  ipv6-transports TRUTH                the capture holds IPv6 TCP and UDP flows
  pycollect-clean RESULT [MIN]         every message parsed, no sequence error, at least MIN messages
                                       (default 3; a sequence is checked from the second on)
  server-side-reasons TSV PORT FIRST COUNT   the COUNT server sides (sport PORT, dport FIRST..)
                                       all end with flowEndReason 3
  one-record-per-direction TRUTH CSV MIN   one nfdump record per TCP connection direction, no
                                       one-packet ACK records, at least MIN directions
  tcp-end-reasons FIELDS TSV MIN RESETS    every TCP direction ends with reason 3, whether it
                                       sent its FIN or RST or its peer reset it (RESETS of those)
  latency-truth TRUTH COUNT            COUNT played connections, delays of 2 ms or more, no two alike
  zero-latency-icmp V9                 records without a handshake (ICMP) carry 0
  retransmission-plan TRUTH LOSSY CLEAN    the capture's counts are the plans' losses and swaps
  retransmission-counts TRUTH RECORDS  every flow direction's counts equal the capture's
  retransmissions-as-tshark TSHARK LIVE LOSSY  flowtap's retransmissions near tshark's (10 %)
  udp-burst-whole IPERF_JSON           iperf3 lost no datagram
  printed FILE_JSON JSONL TABLE        `flowtap read` without a destination printed the records its
                                       IPFIX file holds (FILE_JSON: ipfixfile.py's reading): the
                                       JSON lines in the file's order with the same key and counts,
                                       the table the same records largest first, its total line
                                       their sum
"""
import csv
import json
import re
from collections import Counter, defaultdict

from cli import main


def undecodable_reasons(expected_path, log_path):
    expected = json.load(open(expected_path))
    log = open(log_path).read()
    line = re.search(r"undecodable frames by reason: (.*)", log)
    counted = dict((k, int(v)) for k, v in (p.split("=") for p in line.group(1).split())) if line else {}
    print("    expected", expected["issues"], "\n    counted ", counted)
    non_ip = int(re.search(r"(\d+) non-IP", log).group(1))
    print(f"    non-IP frames: expected {expected['non_ip']}, counted {non_ip}")
    return counted == expected["issues"] and non_ip == expected["non_ip"]


def nfdump_csv_rows(path):
    """nfdump -o csv's rows, without the summary block that follows them."""
    lines = []
    for line in open(path):
        if not line.strip() or line.startswith("Summary"):
            break
        lines.append(line)
    return list(csv.DictReader(lines))


PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1}
ECHO = {(1, 8): 0, (1, 0): 8, (58, 128): 129, (58, 129): 128}


def conversation_reverse(k):
    """The other side of a conversation: an echo request's is the echo reply."""
    if k[2] in (1, 58):
        reply = ECHO.get((k[2], k[4] >> 8))
        return (k[1], k[0], k[2], 0, reply << 8 | k[4] & 0xFF) if reply is not None else None
    return (k[1], k[0], k[2], k[4], k[3])


def biflow_conversations(truth_path, csv_path):
    norm = lambda k: (k[0], k[1], int(k[2]), int(k[3]), int(k[4]))
    truth = {norm(k): (p, b, t) for k, p, b, t in json.load(open(truth_path))}
    expected = {}
    for k, (p, b, t) in truth.items():
        rp, rb, rt = truth.get(conversation_reverse(k), (0, 0, float("inf")))
        if t <= rt:  # this direction spoke first: it is the forward one
            expected[k] = [p, b, rp, rb]
    got = {}
    for r in nfdump_csv_rows(csv_path):
        pr = r["pr"].strip()
        k = norm([r["sa"], r["da"], PROTO.get(pr, int(pr) if pr.isdigit() else -1), int(float(r["sp"])), int(float(r["dp"]))])
        g = got.setdefault(k, [0, 0, 0, 0])
        for i, col in enumerate(["ipkt", "ibyt", "opkt", "obyt"]):
            g[i] += int(r[col])
    bad = 0
    for k in sorted(set(expected) | set(got)):
        e, g = expected.get(k), got.get(k)
        if e != g:
            bad += 1
            print(f"    DIFF {k}: capture in/out {e}, nfdump {g}")
    print(f"    {len(expected)} conversations in the capture, {len(got)} in nfdump, {bad} differ")
    return bad == 0 and len(expected) >= 6


def wire_variety(truth_path):
    t = json.load(open(truth_path))
    tos = {v for f in t for v in f["tos"]}
    icmp = {f["icmp"] for f in t if f["icmp"] is not None}
    tcp_end = {f["tcp_flags"] & 0x05 for f in t if f["key"][2] == 6}
    print(f"    ToS {sorted(tos)}, ICMP {sorted(icmp)}, TCP endings {sorted(tcp_end)}")
    return {0x28, 0xb8, 0x10, 0x20, 0x48} <= tos and {0x0800, 0x0000, 0x0303, 0x8000, 0x8100} <= icmp and {0x01, 0x04} <= tcp_end


def ipv6_transports(truth_path):
    return {6, 17} <= {k[2] for k, _, _ in json.load(open(truth_path)) if ":" in k[0]}


def pycollect_clean(path, minimum="3"):
    r = json.load(open(path))
    print(f"    {r['messages']} messages, {r['unparsed']} unparsed, {r['sequence_errors']} sequence errors", r["notes"][:3])
    return r["unparsed"] == 0 and r["sequence_errors"] == 0 and r["messages"] >= int(minimum)


def tshark_columns(path, width):
    """`tshark -T fields -E occurrence=a -E aggregator=,` rows, one tuple per record."""
    for line in open(path):
        cols = [c.split(",") for c in line.rstrip("\n").split("\t")]
        if len(cols) < width or not cols[0][0]:
            continue
        yield from zip(*cols[:width])


def server_side_reasons(tsv, port, first, count):
    reasons = Counter()
    for sp, dp, pr, reason in tshark_columns(tsv, 4):
        if pr == "6" and sp == port and int(first) <= int(dp) < int(first) + int(count):
            reasons[int(reason)] += 1
    print(f"    server-side records by end reason: {dict(reasons)}")
    return reasons == Counter({3: int(count)})


def one_record_per_direction(truth_path, csv_path, minimum):
    tcp = {tuple(k) for k, p, b in json.load(open(truth_path)) if k[2] == 6}
    records = Counter()
    single_acks = 0
    for r in nfdump_csv_rows(csv_path):
        if r["pr"].strip() not in ("TCP", "6"):
            continue
        records[(r["sa"], r["da"], 6, int(float(r["sp"])), int(float(r["dp"])))] += 1
        single_acks += int(r["ipkt"]) == 1 and r["flg"].strip(".") == "A"
    bad = [k for k in tcp | set(records) if records.get(k, 0) != 1]
    for k in bad[:10]:
        print(f"    {k}: {records.get(k, 0)} records")
    print(f"    {len(tcp)} TCP connection directions in the capture, {sum(records.values())} TCP records, "
          f"{len(bad)} directions without exactly one, {single_acks} one-packet ACK records")
    return not bad and not single_acks and len(tcp) >= int(minimum)


def tcp_end_reasons(fields_path, tsv, minimum, resets):
    ended = {tuple(f["key"]) for f in json.load(open(fields_path)) if f["key"][2] == 6 and f["tcp_flags"] & 0x05}
    reasons = {}
    for sa, sp, da, dp, pr, reason in tshark_columns(tsv, 6):
        if pr == "6":
            reasons[(sa, da, 6, int(sp), int(dp))] = int(reason)
    own = Counter(reasons.get(k) for k in ended)
    peer = Counter(r for k, r in reasons.items() if k not in ended)
    reset = Counter(r for k, r in reasons.items() if k not in ended and k[3] == 8080 and 30000 <= k[4] < 30000 + int(resets))
    print(f"    {len(ended)} directions sent their own FIN or RST, end reasons {dict(own)}; "
          f"{sum(peer.values())} did not (their peer reset the connection), end reasons {dict(peer)}, "
          f"{sum(reset.values())} of them the reset connections' server side")
    return len(ended) >= int(minimum) and set(own) == {3} and set(peer) == {3} and reset[3] == int(resets)


def latency_truth(truth_path, count):
    t = json.load(open(truth_path))
    for c in t:
        print(f"    {c['client'][1]}: server {c['server_us'] / 1000:.3f} ms, client {c['client_us'] / 1000:.3f} ms, app {c['app_us'] / 1000:.3f} ms")
    n = int(count)
    ok = len(t) == n and all(c["server_us"] >= 2000 and c["client_us"] >= 2000 and c["app_us"] >= 1000 for c in t)
    # No two connections alike (server and client delay both): a delay alone, to the microsecond,
    # is another's by chance a few times in a hundred runs of 12 connections.
    return ok and len({(c["server_us"], c["client_us"]) for c in t}) == n


def zero_latency_icmp(path):
    r = [x for x in json.load(open(path)) if x["proto"] in ("1", "ICMP")]
    print(f"    {len(r)} ICMP records")
    return bool(r) and all(x["client_us"] == x["server_us"] == x["app_us"] == 0 for x in r)


def retransmission_plan(truth_path, lossy_path, clean_path):
    truth = {tuple(t["flow"]): t for t in json.load(open(truth_path))}
    lossy = json.load(open(lossy_path))
    ok = True
    for plan in lossy + json.load(open(clean_path)):
        t = truth.get((plan["client"][0], plan["client"][1], plan["server"][0], plan["server"][1]))
        print(f"    {plan['client'][1]}: lost {len(plan['lost'])}, swapped {len(plan['swapped'])};"
              f" capture {t and t['retransmitted']} retransmitted, {t and t['out_of_order']} out of order of {t and t['segments']}")
        ok = ok and t is not None and (t["retransmitted"], t["out_of_order"]) == (len(plan["lost"]), len(plan["swapped"]))
    return ok and all(len(p["lost"]) >= 4 and len(p["swapped"]) >= 1 for p in lossy)


def retransmission_counts(truth_path, records_path):
    truth = {tuple(t["flow"]): t for t in json.load(open(truth_path))}
    got = defaultdict(lambda: [0, 0])
    for m in json.load(open(records_path)):
        if m["retransmitted"] is None or m["out_of_order"] is None:
            print(f"    a record without the counts: {m}")
            return False
        g = got[tuple(m["flow"])]
        g[0] += m["retransmitted"]
        g[1] += m["out_of_order"]
    bad = [f"{k}: {got[k]} against {[t['retransmitted'], t['out_of_order']]}" for k, t in truth.items()
           if got.get(k) != [t["retransmitted"], t["out_of_order"]]]
    bad += [f"{k}: {v}, the capture has no data there" for k, v in got.items() if k not in truth and v != [0, 0]]
    print(f"    {len(truth)} flow directions with data; {sum(t['retransmitted'] for t in truth.values())} retransmitted, "
          f"{sum(t['out_of_order'] for t in truth.values())} out of order; {len(bad)} differ")
    for b in bad[:8]:
        print("    " + b)
    return bool(truth) and not bad and all(k in got for k in truth)


def retransmissions_as_tshark(tshark_path, live_path, lossy_path):
    tshark = {int(p): int(n) for n, p in (l.split() for l in open(tshark_path) if l.strip())}
    live = {(f["flow"][1]): f["retransmitted"] for f in json.load(open(live_path)) if f["flow"][3] == 80}
    ok = True
    for plan in json.load(open(lossy_path)):
        port = plan["client"][1]
        mine, theirs = live.get(port), tshark.get(port, 0)
        print(f"    {port}: flowtap {mine}, tshark {theirs}")
        ok = ok and mine is not None and abs(mine - theirs) <= max(1, mine // 10)
    return ok


def udp_burst_whole(path):
    return json.load(open(path))["end"]["sum"]["lost_packets"] == 0


def printed(file_json, jsonl, table):
    def row(key, packets, octets):
        src, dst, proto, sport, dport = key
        # The file's ICMP records carry their type and code in icmpTypeCode, not the port.
        return (str(src), str(dst), int(proto), int(sport), 0 if int(proto) in (1, 58) else int(dport), int(packets), int(octets))
    in_file = [row(*r) for r in json.load(open(file_json))["rows"]]
    lines = [json.loads(line) for line in open(jsonl) if line.strip()]
    as_json = [row([r["src"], r["dst"], r["proto"], r["sport"], r["dport"]], r["packets"], r["bytes"]) for r in lines]
    rows = [line.split() for line in open(table).read().splitlines()]
    header, body, total = rows[0], rows[1:-1], rows[-1]
    col = {name: i for i, name in enumerate(header)}
    as_table = [row([r[col["src"]], r[col["dst"]], r[col["proto"]], r[col["sport"]], r[col["dport"]]], r[col["packets"]],
                    r[col["bytes"]]) for r in body]
    order = [r[6] for r in as_table]
    total_ok = total[:2] == ["total:", str(len(in_file))] and int(total[3]) == sum(r[5] for r in in_file) \
        and int(total[5]) == sum(r[6] for r in in_file)
    print(f"    file {len(in_file)} records, JSON lines {len(as_json)}, table {len(as_table)}; total line: {' '.join(total)}")
    same_order = as_json == in_file
    if not same_order:
        bad = next(i for i, (a, b) in enumerate(zip(as_json + [None] * len(in_file), in_file)) if a != b)
        print(f"    JSON line {bad + 1} differs from the file: {as_json[bad] if bad < len(as_json) else None} vs {in_file[bad]}")
    return len(in_file) > 10 and same_order and Counter(as_table) == Counter(in_file) \
        and order == sorted(order, reverse=True) and total_ok


COMMANDS = {"printed": printed, "undecodable-reasons": undecodable_reasons, "biflow-conversations": biflow_conversations,
            "wire-variety": wire_variety, "ipv6-transports": ipv6_transports, "pycollect-clean": pycollect_clean,
            "server-side-reasons": server_side_reasons, "one-record-per-direction": one_record_per_direction,
            "tcp-end-reasons": tcp_end_reasons, "latency-truth": latency_truth, "zero-latency-icmp": zero_latency_icmp,
            "retransmission-plan": retransmission_plan, "retransmission-counts": retransmission_counts,
            "retransmissions-as-tshark": retransmissions_as_tshark, "udp-burst-whole": udp_burst_whole}

if __name__ == "__main__":
    main(COMMANDS, __doc__)
