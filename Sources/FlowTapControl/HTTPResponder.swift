/// `--metrics`' HTTP/1.1 (RFC 9112), as much of it as a Prometheus scrape needs and no more:
/// GET and HEAD of `/metrics` (the text exposition) and `/` (a line saying where the metrics
/// are), 404 for any other path, 405 for any other method, and a clear refusal of whatever
/// else comes: a request head over 8 KiB (431), a request with a body (413), a malformed line
/// (400), another HTTP version (505). Connections stay open between requests unless the
/// client asks otherwise (HTTP/1.0 without keep-alive, `Connection: close`). Pure: bytes in,
/// bytes out; `ControlServer` does the I/O in its poll loop.
public struct HTTPResponder {
    /// The longest request head taken (request line and headers).
    public static let maxHead = 8192

    /// What one request head asks, once it is complete.
    public struct Answer: Equatable {
        public var status: Int
        public var bytes: [UInt8]
        /// The connection closes once these bytes are written.
        public var close: Bool
    }

    let scrape: () -> [UInt8]

    public init(scrape: @escaping () -> [UInt8]) {
        self.scrape = scrape
    }

    /// Where the head that starts `input` ends (past its empty line), or nil while it is not
    /// complete.
    public static func headEnd(_ input: [UInt8]) -> Int? {
        guard input.count >= 4 else { return nil }
        for i in 3 ..< input.count where input[i] == 10 {
            if input[i - 1] == 10 { return i + 1 } // bare LF LF
            if input[i - 1] == 13 && input[i - 2] == 10 && input[i - 3] == 13 { return i + 1 }
        }
        return nil
    }

    /// The answer to the complete request head `head`.
    public func answer(_ head: ArraySlice<UInt8>) -> Answer {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(
            omittingEmptySubsequences: true, whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }
        )
        .map(String.init)
        guard !lines.isEmpty else { return Self.plain(400, "Bad Request", "no request line\n", close: true) }
        let request = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard request.count == 3, !request[0].isEmpty, request[1].hasPrefix("/") || request[1] == "*" else {
            return Self.plain(400, "Bad Request", "a request line is METHOD TARGET HTTP/1.1\n", close: true)
        }
        let (method, target, version) = (request[0], request[1], request[2])
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return Self.plain(505, "HTTP Version Not Supported", "flowtap speaks HTTP/1.1\n", close: true)
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                !line[..<colon].contains(where: { $0 == " " || $0 == "\t" })
            else {
                return Self.plain(400, "Bad Request", "a header line is NAME: VALUE\n", close: true)
            }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingSpaces))
        }
        func header(_ name: String) -> String? { headers.last { $0.name == name }?.value }
        let connection = header("connection")?.lowercased() ?? ""
        let close = connection.contains("close") || (version == "HTTP/1.0" && !connection.contains("keep-alive"))
        if header("transfer-encoding") != nil || (header("content-length").map { $0 != "0" } ?? false) {
            return Self.plain(413, "Content Too Large", "flowtap takes no request body\n", close: true)
        }
        guard method == "GET" || method == "HEAD" else {
            return Self.plain(
                405, "Method Not Allowed", "flowtap serves GET and HEAD\n", close: close,
                extra: "Allow: GET, HEAD\r\n")
        }
        let path =
            target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            ?? target
        var answer: Answer
        switch path {
        case "/metrics":
            answer = Self.response(
                200, "OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: scrape(), close: close)
        case "/":
            answer = Self.plain(200, "OK", "flowtap: metrics at /metrics\n", close: close)
        default:
            answer = Self.plain(404, "Not Found", "not found: flowtap serves /metrics\n", close: close)
        }
        if method == "HEAD", let end = Self.headEnd(answer.bytes) { answer.bytes.removeSubrange(end...) }
        return answer
    }

    /// A plain-text response.
    public static func plain(_ status: Int, _ reason: String, _ body: String, close: Bool, extra: String = "") -> Answer
    {
        response(
            status, reason, contentType: "text/plain; charset=utf-8", body: Array(body.utf8), close: close, extra: extra
        )
    }

    static func response(
        _ status: Int, _ reason: String, contentType: String, body: [UInt8], close: Bool, extra: String = ""
    ) -> Answer {
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        head += extra
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return Answer(status: status, bytes: Array(head.utf8) + body, close: close)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (an HTTP header value's optional whitespace).
    var trimmingSpaces: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else {
            return ""
        }
        return String(self[first ... last])
    }
}
