#!/usr/bin/env python3
"""ipfixapp.py FILE.ipfix... > records.json

The application fields of flowtap's IPFIX files (`--output`), read with PyPI's `ipfix`
(python-ipfix), a parser independent of flowtap and of tshark, told the elements from their
publishers' definitions: IANA's HTTP elements (457-468), ntop's (PEN 35632: 188 server name,
495 TLS version, 576 JA4, 205 DNS query, 207 its type, 208 response code) and Flowmon's ALPN
(PEN 39499, 337). One JSON object per data record in appcheck.py's form: "key", and "app",
"name", "alpn", "tlsVersion", "ja4", "httpMethod", "httpTarget", "httpUserAgent",
"httpStatus", "dnsType", "dnsRcode" where the record has them; with "biflow": true when the
record carries reverse counts (RFC 5103).
"""
import json
import sys

import ipfix.ie

from ipfixfile import messages

APPS = {1: "tls", 2: "http", 3: "dns", 4: "ssh", 5: "quic"}
SPECS = [
    "httpStatusCode(457)<unsigned16>[2]",
    "httpRequestMethod(459)<string>[65535]",
    "httpRequestHost(460)<string>[65535]",
    "httpRequestTarget(461)<string>[65535]",
    "httpMessageVersion(462)<string>[65535]",
    "httpUserAgent(468)<string>[65535]",
    "ntopServerName(35632/188)<string>[65535]",
    "ntopTLSVersion(35632/495)<unsigned16>[2]",
    "ntopJA4(35632/576)<string>[65535]",
    "ntopDNSQuery(35632/205)<string>[65535]",
    "ntopDNSQueryType(35632/207)<unsigned8>[1]",
    "ntopDNSRetCode(35632/208)<unsigned8>[1]",
    "flowmonALPN(39499/337)<string>[65535]",
]
FIELDS = {
    "ntopServerName": "name", "httpRequestHost": "name", "ntopDNSQuery": "name", "flowmonALPN": "alpn",
    "ntopTLSVersion": "tlsVersion", "ntopJA4": "ja4", "httpRequestMethod": "httpMethod",
    "httpRequestTarget": "httpTarget", "httpUserAgent": "httpUserAgent", "httpStatusCode": "httpStatus",
    "ntopDNSQueryType": "dnsType", "ntopDNSRetCode": "dnsRcode",
}


def records(paths):
    ipfix.ie.use_iana_default()
    ipfix.ie.use_5103_default()
    for spec in SPECS:
        try:
            ipfix.ie.for_spec(spec)
        except ValueError:
            pass   # the library's IANA list has it already
    out = []
    for path in paths:
        for buffer in messages(path):
            for r in buffer.namedict_iterator():
                if "sourceTransportPort" not in r and "sourceIPv4Address" not in r and "sourceIPv6Address" not in r:
                    continue   # options records
                src = r.get("sourceIPv4Address") or r.get("sourceIPv6Address")
                dst = r.get("destinationIPv4Address") or r.get("destinationIPv6Address")
                proto = {6: "tcp", 17: "udp"}.get(r.get("protocolIdentifier"), str(r.get("protocolIdentifier")))
                rec = {"key": f"{src}:{r.get('sourceTransportPort')}>{dst}:{r.get('destinationTransportPort')}/{proto}"}
                if "reversePacketDeltaCount" in r or "reverseOctetDeltaCount" in r:
                    rec["biflow"] = True
                app = r.get("applicationId")
                if app:
                    app = bytes(app)
                    rec["app"] = APPS.get(int.from_bytes(app[1:], "big"), app.hex()) if app[0] == 6 else app.hex()
                for name, key in FIELDS.items():
                    v = r.get(name)
                    if v is None or v == "":
                        continue
                    rec[key] = v
                if rec.get("dnsType") == 0:
                    del rec["dnsType"]
                for k in ("httpStatus", "tlsVersion"):
                    if rec.get(k) == 0:
                        del rec[k]
                out.append(rec)
    return out


if __name__ == "__main__":
    json.dump(records(sys.argv[1:]), sys.stdout, indent=1)
