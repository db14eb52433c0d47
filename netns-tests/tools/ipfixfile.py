#!/usr/bin/env python3
"""ipfixfile.py FILE.ipfix > file.json

An IPFIX file (RFC 5655) read with PyPI's `ipfix` (python-ipfix), an independent parser: its
messages one after another, each decoded with the templates the file itself carried before.
Prints {"messages", "records" (data records, options included), "options" (options records),
"sequence_errors" (per observation domain, a message whose sequence number is not the previous
one's plus its data records), "templates_before_data" (no data set came before its template:
the library raises on a set it has no template for, counted in "undecodable"), "undecodable",
"rows": [[src, dst, proto, sport, dport], packets, bytes] per flow record (flowcheck.py counts),
"times": [[src, dst, proto, sport, dport], start, end] per flow record (flowcheck.py times)}.
"""
import json
import sys

import ipfix.ie
import ipfix.message


def messages(path):
    """Each message of the file in turn, read into one MessageBuffer (which keeps the
    templates the file carried before)."""
    buffer = ipfix.message.MessageBuffer()
    with open(path, "rb") as f:
        while True:
            try:
                buffer.read_message(f)
            except EOFError:
                return
            yield buffer


def read(path):
    ipfix.ie.use_iana_default()
    out = {"messages": 0, "records": 0, "options": 0, "sequence_errors": 0, "undecodable": 0, "rows": [], "times": []}
    expected = {}
    for buffer in messages(path):
        out["messages"] += 1
        try:
            records = list(buffer.namedict_iterator())
        except Exception:   # a set without its template, a record cut short
            out["undecodable"] += 1
            continue
        domain = buffer.odid
        if domain in expected and buffer.sequence != expected[domain]:
            out["sequence_errors"] += 1
        expected[domain] = (buffer.sequence + len(records)) & 0xFFFFFFFF
        for rec in records:
            out["records"] += 1
            if "packetDeltaCount" not in rec:
                out["options"] += 1
                continue
            src = rec.get("sourceIPv4Address", rec.get("sourceIPv6Address", ""))
            dst = rec.get("destinationIPv4Address", rec.get("destinationIPv6Address", ""))
            start = next((rec[n] for n in ("flowStartNanoseconds", "flowStartMicroseconds", "flowStartMilliseconds") if n in rec), None)
            end = next((rec[n] for n in ("flowEndNanoseconds", "flowEndMicroseconds", "flowEndMilliseconds") if n in rec), None)
            key = [str(src), str(dst), rec.get("protocolIdentifier", 0), rec.get("sourceTransportPort", 0),
                   rec.get("destinationTransportPort", 0)]
            out["rows"].append([key, rec["packetDeltaCount"], rec["octetDeltaCount"]])
            out["times"].append([key, start.timestamp() if start else None, end.timestamp() if end else None])
    out["templates_before_data"] = out["undecodable"] == 0
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    json.dump(read(sys.argv[1]), sys.stdout)
