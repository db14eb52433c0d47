/// JSON text (RFC 8259) built by hand for the control socket and the JSON log: a handful of
/// numbers and strings, written without Foundation on a thread that runs under seccomp.
public enum JSONText {
    /// A string literal: quotes, backslashes and control characters escaped.
    public static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// An object of (key, JSON value) pairs, in order.
    public static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    public static func array(_ values: [String]) -> String { "[" + values.joined(separator: ",") + "]" }

    /// A number with three decimals at most (rates).
    public static func number(_ v: Double) -> String {
        let scaled = (v * 1000).rounded() / 1000
        return scaled == scaled.rounded() ? String(Int64(scaled)) : String(scaled)
    }
}
