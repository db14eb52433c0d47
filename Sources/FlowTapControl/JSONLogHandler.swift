import FlowTapBase
import Glibc
import Logging

/// `--log-format json`: one JSON object per line on a descriptor (stderr), so that journald, or
/// anything reading the stream, gets the level, the message and its metadata as fields:
/// `{"time":"2026-12-01T08:00:00.123Z","level":"info","label":"flowtap","source":"FlowTap","message":"…"}`
/// plus one key per metadata entry. Each line is one write(2), so lines from several threads
/// never interleave. Time is UTC (gmtime_r), which reads no file after the privilege drop.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let descriptor: CInt

    public init(label: String, level: Logger.Level = .info, descriptor: CInt = 2) {
        self.label = label
        logLevel = level
        self.descriptor = descriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"time\":\(JSONText.string(Self.timestamp())),\"level\":\(JSONText.string(event.level.rawValue)),"
        line +=
            "\"label\":\(JSONText.string(label)),\"source\":\(JSONText.string(event.source)),\"message\":\(JSONText.string(event.message.description))"
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in all.keys.sorted() where !["time", "level", "label", "source", "message"].contains(key) {
            line += ",\(JSONText.string(key)):\(JSONText.string("\(all[key]!)"))"
        }
        line += "}\n"
        _ =
            line.utf8.withContiguousStorageIfAvailable { SystemCall.write(descriptor, $0.baseAddress!, $0.count) }
            ?? Array(line.utf8).withUnsafeBytes { SystemCall.write(descriptor, $0.baseAddress!, $0.count) }
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(ts.tv_nsec / 1_000_000)
        let millis = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z"
    }
}
