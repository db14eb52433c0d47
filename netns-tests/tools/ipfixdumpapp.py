#!/usr/bin/env python3
"""ipfixdumpapp.py FILE.ipfix > records.json

The application fields of flowtap's IPFIX files as libfixbuf's ipfixDump reads them, told the
enterprise elements' definitions (tools/app-elements.xml; IANA's it knows): a third reader,
independent of flowtap, tshark and python-ipfix. One JSON object per flow record in
appcheck.py's form ("key", "app", "name", "alpn", "tlsVersion", "ja4", "httpMethod",
"httpTarget", "httpUserAgent", "httpStatus", "dnsType", "dnsRcode" where the record has them).
ipfixDump prints an applicationId (octetArray, 3 bytes) as a little-endian number: its bytes
are taken back from it.
"""
import json
import os
import re
import subprocess
import sys

APPS = {1: "tls", 2: "http", 3: "dns", 4: "ssh", 5: "quic"}
FIELDS = {
    "ntopServerName": "name", "httpRequestHost": "name", "ntopDNSQuery": "name", "flowmonALPN": "alpn",
    "ntopTLSVersion": "tlsVersion", "ntopJA4": "ja4", "httpRequestMethod": "httpMethod",
    "httpRequestTarget": "httpTarget", "httpUserAgent": "httpUserAgent", "httpStatusCode": "httpStatus",
    "ntopDNSQueryType": "dnsType", "ntopDNSRetCode": "dnsRcode",
}
NUMBERS = {"tlsVersion", "httpStatus", "dnsType", "dnsRcode"}
LINE = re.compile(r"^\s*\(([0-9/]+)\)(?: \(S\))?\s+(\S+) : (.*)$")


def records(path):
    elements = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app-elements.xml")
    out = subprocess.run(["ipfixDump", "-e", elements, "--in", path], capture_output=True, text=True, check=True).stdout
    found, current = [], None
    for line in out.splitlines():
        if line.startswith("--- "):
            current = {} if line.startswith("--- data record") else None
            if current is not None:
                found.append(current)
            continue
        m = LINE.match(line)
        if current is not None and m:
            value = m.group(3)
            text = re.match(r"^\(len: \d+\) ?(.*)$", value)
            current[m.group(2)] = text.group(1) if text else value
    result = []
    for f in found:
        if "sourceTransportPort" not in f and "protocolIdentifier" not in f:
            continue  # an options record
        src = f.get("sourceIPv4Address") or f.get("sourceIPv6Address")
        dst = f.get("destinationIPv4Address") or f.get("destinationIPv6Address")
        proto = {"6": "tcp", "17": "udp"}.get(f.get("protocolIdentifier"), f.get("protocolIdentifier"))
        r = {"key": f"{src}:{f.get('sourceTransportPort')}>{dst}:{f.get('destinationTransportPort')}/{proto}"}
        if "applicationId" in f:
            raw = int(f["applicationId"]).to_bytes(3, "little")
            r["app"] = APPS.get(int.from_bytes(raw[1:], "big"), raw.hex()) if raw[0] == 6 else raw.hex()
        for name, key in FIELDS.items():
            if f.get(name, "") != "":
                r[key] = int(f[name]) if key in NUMBERS else f[name]
        for key in ("httpStatus",):
            if r.get(key) == 0:
                del r[key]
        result.append(r)
    return result


if __name__ == "__main__":
    json.dump([r for p in sys.argv[1:] for r in records(p)], sys.stdout, indent=1)
