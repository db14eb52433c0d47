#!/usr/bin/env python3
"""pycollect.py --lib ipfix|netflow --listen ADDR:PORT|[ADDR]:PORT --out FILE.json

A small collector around a third-party parser, so that flowtap's packets are read by code that
is not flowtap's:
  --lib ipfix    the PyPI package `ipfix` (python-ipfix, a strict RFC 7011 reader): IPFIX only;
  --lib netflow  the PyPI package `netflow` (parses NetFlow v5, v9 and IPFIX).
It receives until SIGTERM, then parses every datagram in order and writes FILE.json:
  {"flows": [[[src, dst, proto, sport, dport], packets, bytes], ...],
   "starts": [[[src, dst, proto, sport, dport], flow start as Unix seconds], ...] (ipfix only),
   "messages": N, "records": N, "unparsed": N, "sequence_errors": N, "notes": [...]}
and checks each format's sequence rule per exporter and domain: IPFIX counts every data record
(options data included), v9 counts packets, v5 counts flow records. It also lists, in
"records_list", every flow record with the fields a probe's record carries, as the library decoded
them: {"key", "packets", "bytes", "tcp_flags", "tos", "icmp" (type << 8 | code), "in", "out",
"direction", "start", "end" (Unix seconds; v9 and v5 from FIRST/LAST_SWITCHED against the
header's sysUptime and clock), "reason" (flowEndReason)}; a field the format lacks is null.
"""
import argparse
import json
import signal
import socket
import struct
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--lib", choices=["ipfix", "netflow"], required=True)
ap.add_argument("--listen", required=True)
ap.add_argument("--out", required=True)
args = ap.parse_args()

host, port = args.listen.rsplit(":", 1)
family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind((host.strip("[]"), int(port)))
datagrams = []
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)
sock.settimeout(0.2)
print("listening", flush=True)
while not stop:
    try:
        data, peer = sock.recvfrom(65535)
        datagrams.append((peer[0], data))
    except socket.timeout:
        pass
# take what is still queued
sock.setblocking(False)
try:
    while True:
        data, peer = sock.recvfrom(65535)
        datagrams.append((peer[0], data))
except BlockingIOError:
    pass

flows, notes, starts = [], [], []
result = {"messages": len(datagrams), "records": 0, "unparsed": 0, "sequence_errors": 0}
expected = {}  # (exporter, domain) -> next sequence number


def check_sequence(key, sequence, advance):
    if key in expected and expected[key] != sequence:
        result["sequence_errors"] += 1
        notes.append(f"{key}: sequence {sequence}, expected {expected[key]}")
    expected[key] = (sequence + advance) & 0xFFFFFFFF


records_out = []


def add(src, dst, proto, sport, dport, packets, octets, **fields):
    flows.append([[str(src), str(dst), int(proto), int(sport or 0), int(dport or 0)], int(packets), int(octets)])
    result["records"] += 1
    records_out.append(dict({"key": flows[-1][0], "packets": int(packets), "bytes": int(octets)}, **fields))


def seconds(value):
    return value.timestamp() if hasattr(value, "timestamp") else value


def switched(header_ms, uptime, at):
    """v9/v5: a FIRST/LAST_SWITCHED (ms of sysUptime) as Unix seconds, anchored by the header."""
    return None if at is None else (header_ms - uptime + at) / 1000


if args.lib == "ipfix":
    import ipfix.ie
    import ipfix.message
    ipfix.ie.use_iana_default()
    buffer = ipfix.message.MessageBuffer()
    for peer, data in datagrams:
        buffer.from_bytes(data)
        records = 0
        for rec in buffer.namedict_iterator():
            records += 1
            if "packetDeltaCount" not in rec:
                continue  # options data: counted for the sequence, no flow
            src = rec.get("sourceIPv4Address", rec.get("sourceIPv6Address", ""))
            dst = rec.get("destinationIPv4Address", rec.get("destinationIPv6Address", ""))
            for name in ("flowStartNanoseconds", "flowStartMicroseconds", "flowStartMilliseconds"):
                if name in rec:
                    starts.append([[str(src), str(dst), rec.get("protocolIdentifier", 0), rec.get("sourceTransportPort", 0),
                                    rec.get("destinationTransportPort", 0)], rec[name].timestamp(), name])
            start = next((rec[n] for n in ("flowStartNanoseconds", "flowStartMicroseconds", "flowStartMilliseconds") if n in rec), None)
            end = next((rec[n] for n in ("flowEndNanoseconds", "flowEndMicroseconds", "flowEndMilliseconds") if n in rec), None)
            add(src, dst, rec.get("protocolIdentifier", 0), rec.get("sourceTransportPort"),
                rec.get("destinationTransportPort"), rec["packetDeltaCount"], rec["octetDeltaCount"],
                tcp_flags=rec.get("tcpControlBits"), tos=rec.get("ipClassOfService"),
                icmp=rec.get("icmpTypeCodeIPv4", rec.get("icmpTypeCodeIPv6")), direction=rec.get("flowDirection"),
                start=seconds(start), end=seconds(end), reason=rec.get("flowEndReason"),
                **{"in": rec.get("ingressInterface"), "out": rec.get("egressInterface")})
        check_sequence((peer, buffer.odid), buffer.sequence, records)
else:
    import netflow
    from netflow.ipfix import IPFIXTemplateNotRecognized
    from netflow.v9 import V9TemplateNotRecognized
    templates = {"netflow": {}, "ipfix": {}}
    for peer, data in datagrams:
        version = struct.unpack(">H", data[:2])[0]
        try:
            packet = netflow.parse_packet(data, templates)
        except (V9TemplateNotRecognized, IPFIXTemplateNotRecognized, KeyError) as e:
            result["unparsed"] += 1
            notes.append(f"v{version} packet not parsed: {type(e).__name__}")
            continue
        h = packet.header
        records = list(packet.flows)
        if version == 5:
            check_sequence((peer, "v5"), h.sequence, h.count)
        elif version == 9:
            check_sequence((peer, h.source_id), h.sequence, 1)
        else:
            data_records = sum(len(s.records) for s in packet.sets
                               if s.header.set_id >= 256 and hasattr(s, "records"))
            check_sequence((peer, h.obervation_domain_id), h.sequence_number, data_records)
        for f in records:
            d = f.data
            if version == 10:
                if "packetDeltaCount" not in d:
                    continue
                add(d.get("sourceIPv4Address", d.get("sourceIPv6Address", "")),
                    d.get("destinationIPv4Address", d.get("destinationIPv6Address", "")),
                    d.get("protocolIdentifier", 0), d.get("sourceTransportPort"), d.get("destinationTransportPort"),
                    d["packetDeltaCount"], d["octetDeltaCount"],
                    tcp_flags=d.get("tcpControlBits"), tos=d.get("ipClassOfService"),
                    icmp=d.get("icmpTypeCodeIPv4", d.get("icmpTypeCodeIPv6")), direction=d.get("flowDirection"),
                    reason=d.get("flowEndReason"), **{"in": d.get("ingressInterface"), "out": d.get("egressInterface")})
            else:
                if "IN_PKTS" in d or "IN_PACKETS" in d:
                    if version == 9:
                        header_ms, uptime = h.timestamp * 1000, h.uptime
                    else:
                        header_ms, uptime = h.timestamp * 1000 + h.timestamp_nano / 1e6, h.uptime
                    add(d.get("IPV4_SRC_ADDR", d.get("IPV6_SRC_ADDR", "")), d.get("IPV4_DST_ADDR", d.get("IPV6_DST_ADDR", "")),
                        d.get("PROTO", d.get("PROTOCOL", 0)), d.get("SRC_PORT", d.get("L4_SRC_PORT")),
                        d.get("DST_PORT", d.get("L4_DST_PORT")), d.get("IN_PKTS", d.get("IN_PACKETS")),
                        d.get("IN_BYTES", d.get("IN_OCTETS")),
                        tcp_flags=d.get("TCP_FLAGS"), tos=d.get("SRC_TOS", d.get("TOS")),
                        icmp=d.get("ICMP_TYPE"), direction=d.get("DIRECTION"), reason=d.get("FORWARDING_STATUS_NOT_REASON"),
                        start=switched(header_ms, uptime, d.get("FIRST_SWITCHED")),
                        end=switched(header_ms, uptime, d.get("LAST_SWITCHED")),
                        **{"in": d.get("INPUT_SNMP", d.get("INPUT")), "out": d.get("OUTPUT_SNMP", d.get("OUTPUT"))})

# addresses may come back as ints or ipaddress objects
import ipaddress
for row in flows:
    for i in (0, 1):
        v = row[0][i]
        row[0][i] = str(ipaddress.ip_address(int(v))) if str(v).isdigit() else str(ipaddress.ip_address(v))
result["flows"] = flows
result["starts"] = starts
result["records_list"] = records_out
result["notes"] = notes[:50]
json.dump(result, open(args.out, "w"))
print(f"{args.lib}: {result['messages']} messages, {result['records']} flow records, "
      f"{result['unparsed']} unparsed, {result['sequence_errors']} sequence errors", flush=True)
