#!/usr/bin/env python3
"""convert.py COMMAND ARGS...: the tests' small conversions, from a file or - (standard input)
to standard output unless the command names an output.

  tshark-records                  tshark `-T fields -E occurrence=a -E aggregator=,` rows, one
                                  line per record: its fields joined by spaces
  tshark-label-pairs              `-e cflow.mpls_label -e cflow.packets` rows: "LABEL1 LABEL2 PACKETS"
                                  per record (two label fields per record)
  tshark-starts                   `-E aggregator=;` rows of abstimestart, addresses, protocol,
                                  ports: [[key], unix seconds] per record, as JSON
  ntop-latency TSHARK_JSON        records with ntop's latency elements in `tshark -T json`:
                                  {"flow", "client_us", "server_us", "app_us"} (network delays
                                  doubled: ntop exports half the round trip)
  tcp-insight TSHARK_JSON IPFIX_OUT V9_OUT   TCP records' retransmitted and out-of-order counts
                                  in `tshark -T json`, IPFIX's and v9's apart
  nfdump-latency TEXT             `nfdump -o "fmt:%sa,%sp,%da,%dp,%pr,%cl,%sl,%al"` lines as JSON
  live-latency FLOWS              `show flows --json` as {"flow", "client_us", "server_us", "app_us"}
  live-retrans FLOWS              `show flows --json` as {"flow", "retransmitted", "out_of_order"}
  key FILE KEY [OUT]              the value of KEY in a JSON object
  rows-from SRC_PREFIX... < ROWS  the [[key], …] rows whose source starts with a prefix
  sum KEY FILE...                 the sum of KEY over JSON objects
  sum-packets ROWS SRC PROTO      the packets of the rows from SRC with protocol PROTO
  py-starts PYCOLLECT OUT ELEMENT pycollect.py's starts as [[key], seconds] into OUT; fails
                                  unless every record carried its start in ELEMENT
  prom-series                     a Prometheus /api/v1/query answer as "labels value" lines,
                                  sorted (instance, job and the name left out)
  prom-value                      the first value of a Prometheus answer, 0 if none
  rate COUNT0 COUNT1 T0 T1        (COUNT1 - COUNT0) / (T1 - T0), rounded
  iperf-gbps IPERF_JSON           iperf3 -J's received rate in Gbit/s, 3 decimals
  rtt-table SAMPLES               "MODE MS" lines as a Markdown table against c-plain
"""
import json
import sys
from collections import defaultdict
from datetime import datetime, timezone

from cli import main


def lines(path):
    return sys.stdin if path == "-" else open(path)


def tshark_records(path="-"):
    for line in lines(path):
        cols = [c.split(",") for c in line.rstrip("\n").split("\t")]
        if cols[0] != [""]:
            for rec in zip(*cols):
                print(" ".join(rec))


def tshark_label_pairs(path="-"):
    for line in lines(path):
        labels, packets = (c.split(",") for c in line.rstrip("\n").split("\t"))
        if labels != [""]:
            for i, p in enumerate(packets):
                print(labels[2 * i], labels[2 * i + 1], p)


def starts_rows(text_lines):
    rows = []
    for line in text_lines:
        cols = [c.split(";") for c in line.rstrip("\n").split("\t")]
        if cols[0] == [""]:
            continue
        for start, src, dst, proto, sport, dport in zip(*cols):
            day, frac = start.replace(" UTC", "").rsplit(".", 1)
            t = datetime.strptime(day, "%b %d, %Y %H:%M:%S").replace(tzinfo=timezone.utc).timestamp() + float("0." + frac)
            rows.append([[src, dst, int(proto), int(sport or 0), int(dport or 0)], t])
    return rows


def tshark_starts(path="-"):
    json.dump(starts_rows(lines(path)), sys.stdout)


def walk(node, visit, version=0):
    """Every object in a `tshark -T json` tree, with the NetFlow/IPFIX version above it."""
    if isinstance(node, dict):
        version = int(node.get("cflow.version", version))
        visit(node, version)
        for v in node.values():
            walk(v, visit, version)
    elif isinstance(node, list):
        for v in node:
            walk(v, visit, version)


def ntop_latency_records(tree):
    out = []

    def visit(node, _):
        if "cflow.srcaddr" in node and any(k.startswith("cflow.pie.ntop") for k in node):
            ms = lambda k: round(float(node[k]) * 1000) if k in node else None   # tshark shows whole ms
            # ntop's network delays are half the round trip (RTT/2): doubled here. Wireshark 4.0
            # names 124 without "ntop." (cflow.pie.server_nw_latency_ms).
            rtt = lambda k: None if ms(k) is None else 2 * ms(k)
            server = next((k for k in ("cflow.pie.ntop.server_nw_latency_ms", "cflow.pie.server_nw_latency_ms") if k in node), "")
            out.append({"flow": [node["cflow.srcaddr"], int(node["cflow.srcport"]), node["cflow.dstaddr"], int(node["cflow.dstport"])],
                        "client_us": rtt("cflow.pie.ntop.client_nw_latency_ms"), "server_us": rtt(server),
                        "app_us": ms("cflow.pie.ntop.appl_latency_ms")})

    walk(tree, visit)
    return out


def ntop_latency(path):
    json.dump(ntop_latency_records(json.load(open(path))), sys.stdout)


def tcp_insight_records(tree):
    out = {10: [], 9: []}

    def visit(node, version):
        if "cflow.srcaddr" in node and "cflow.protocol" in node and node["cflow.protocol"] == "6":
            r = [v for k, v in node.items() if k.endswith("retransmitted_in_pkts")]
            o = [v for k, v in node.items() if k.endswith("ooorder_in_pkts")]
            out.setdefault(version, []).append(
                {"flow": [node["cflow.srcaddr"], int(node["cflow.srcport"]), node["cflow.dstaddr"], int(node["cflow.dstport"])],
                 "retransmitted": int(r[0]) if r else None, "out_of_order": int(o[0]) if o else None})

    walk(tree, visit)
    return out


def tcp_insight(path, ipfix_out, v9_out):
    out = tcp_insight_records(json.load(open(path)))
    json.dump(out[10], open(ipfix_out, "w"))
    json.dump(out[9], open(v9_out, "w"))


def nfdump_latency_rows(text_lines):
    out = []
    for line in text_lines:
        f = [x.strip() for x in line.split(",")]
        if len(f) != 8:
            continue
        port = lambda v: int(v) if v.isdigit() else v   # ICMP shows type.code
        out.append({"flow": [f[0], port(f[1]), f[2], port(f[3])], "proto": f[4],
                    "client_us": round(float(f[5]) * 1000), "server_us": round(float(f[6]) * 1000), "app_us": round(float(f[7]) * 1000)})
    return out


def nfdump_latency(path):
    json.dump(nfdump_latency_rows(lines(path)), sys.stdout)


def live_latency(path):
    json.dump([{"flow": [f["src"], f["sport"], f["dst"], f["dport"]], "client_us": f.get("client_delay_us"),
                "server_us": f.get("server_delay_us"), "app_us": f.get("app_latency_us")} for f in json.load(open(path))], sys.stdout)


def live_retrans(path):
    json.dump([{"flow": [f["src"], f["sport"], f["dst"], f["dport"]], "retransmitted": f["retransmitted"],
                "out_of_order": f["out_of_order"]} for f in json.load(open(path))], sys.stdout)


def key(path, name, out=None):
    json.dump(json.load(open(path))[name], open(out, "w") if out else sys.stdout)


def rows_from(*prefixes):
    json.dump([r for r in json.load(sys.stdin) if r[0][0].startswith(tuple(prefixes))], sys.stdout)


def total(name, *paths):
    print(sum(json.load(open(p))[name] for p in paths))


def sum_packets(path, src, proto):
    print(sum(p for k, p, _ in json.load(open(path)) if k[0] == src and k[2] == int(proto)))


def py_starts(path, out, element):
    r = json.load(open(path))
    names = {n for _, _, n in r["starts"]}
    json.dump([[k, t] for k, t, _ in r["starts"]], open(out, "w"))
    if names != {element}:
        print(f"records carry {names}", file=sys.stderr)
        return False


def prom_series_lines(answer):
    assert answer["status"] == "success", answer
    out = []
    for series in sorted(answer["data"]["result"], key=lambda s: sorted(s["metric"].items())):
        m = {k: v for k, v in series["metric"].items() if k not in ("instance", "job", "__name__")}
        out.append((",".join(f"{k}={v}" for k, v in sorted(m.items())) or "-") + " " + series["value"][1])
    return out


def prom_series():
    print("\n".join(prom_series_lines(json.load(sys.stdin))))


def prom_value():
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else 0)


def rate(count0, count1, t0, t1):
    print(round((float(count1) - float(count0)) / (float(t1) - float(t0))))


def iperf_gbps(path):
    print(round(json.load(open(path))["end"]["sum_received"]["bits_per_second"] / 1e9, 3))


def rtt_table_lines(samples):
    import statistics
    rtt = defaultdict(list)
    for line in samples:
        mode, ms = line.split()
        rtt[mode].append(float(ms) * 1000)
    c = rtt["c-plain"]
    out = ["| mode | pings | mean µs | median µs | mean / C | median / C |", "|---|---|---|---|---|---|"]
    for mode, v in rtt.items():
        out.append(f"| {mode} | {len(v)} | {statistics.mean(v):.0f} | {statistics.median(v):.0f} | "
                   f"{statistics.mean(v) / statistics.mean(c):.2f} | {statistics.median(v) / statistics.median(c):.2f} |")
    return out


def rtt_table(path):
    print("\n".join(rtt_table_lines(open(path))))


COMMANDS = {"tshark-records": tshark_records, "tshark-label-pairs": tshark_label_pairs, "tshark-starts": tshark_starts,
            "ntop-latency": ntop_latency, "tcp-insight": tcp_insight, "nfdump-latency": nfdump_latency,
            "live-latency": live_latency, "live-retrans": live_retrans, "key": key, "rows-from": rows_from,
            "sum": total, "sum-packets": sum_packets, "py-starts": py_starts,
            "prom-series": prom_series, "prom-value": prom_value, "rate": rate, "iperf-gbps": iperf_gbps, "rtt-table": rtt_table}

if __name__ == "__main__":
    main(COMMANDS, __doc__)
