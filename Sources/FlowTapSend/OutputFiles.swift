import FlowTapBase
import Glibc

/// `--output PATH`: the IPFIX files of a run, and of `read` (one file). Without rotation,
/// one file, PATH, complete at the stop; with it, a new file every S seconds named
/// PATH.YYYYmmddHHMMSS (its start, UTC, as nfcapd names its files; a successor's single file
/// too), each complete on its own
/// (the exporter sends templates and options again at the start of each). A file is opened at
/// its first message, under the seccomp filter, as the account flowtap runs as; a file that
/// cannot be opened costs its messages (counted as send errors), never forwarding.
public final class OutputFiles {
    public let path: String
    public let rotateMs: UInt64
    /// A successor (`--takeover`) names even a single file by its start, so as not to write
    /// over its predecessor's PATH.
    public var stamped = false
    /// A successor's names come after its predecessor's: the second after the park (the old
    /// flowtap names no file after it, and completes its last when it quits, which may be
    /// after this one's first write).
    public var notBeforeSecond: Int64 = 0
    private var lastNamedSecond: Int64 = -1
    private var current: IPFIXFile?
    private var openedAtMs: UInt64 = 0
    private let wallClockMs: () -> UInt64
    public private(set) var completed: [String] = []
    public private(set) var lastError: String?

    public init(path: String, rotateSeconds: Int, wallClockMs: @escaping () -> UInt64 = WallClock.nowMs) {
        self.path = path
        rotateMs = UInt64(max(0, rotateSeconds)) * 1000
        self.wallClockMs = wallClockMs
    }

    /// Opens the first file now (at setup, after the privilege drop: a path the account may
    /// not write is an error at the start, not a silent loss).
    public func open() throws(SetupError) {
        guard current == nil else { return }
        let now = wallClockMs()
        current = try IPFIXFile(path: name(startingAtMs: now))
        openedAtMs = now
    }

    /// Whether a rotation is due at wall-clock `nowMs`.
    public func rotationDue(nowMs: UInt64) -> Bool {
        rotateMs > 0 && current != nil && nowMs &- openedAtMs >= rotateMs
    }

    /// Completes the open file (renamed to its name); the next message opens the next file.
    public func completeCurrent() {
        guard let file = current else { return }
        current = nil
        if let e = file.writeError { lastError = "a write to \(file.path) failed: \(e)" }
        do {
            try file.complete()
            completed.append(file.path)
        } catch {
            lastError = error.description
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        if let file = current { return file.write(bytes) }
        let now = wallClockMs()
        do {
            let file = try IPFIXFile(path: name(startingAtMs: now))
            current = file
            openedAtMs = now
            return file.write(bytes)
        } catch {
            lastError = error.description
            return -Int(EACCES)
        }
    }

    /// The next file's name: PATH, or PATH.YYYYmmddHHMMSS of its start, each later than the
    /// last (a rotation within the same second takes the next one), so that no two files of
    /// one run, or of a flowtap and its successor, share a name.
    func name(startingAtMs ms: UInt64) -> String {
        guard rotateMs > 0 || stamped else { return path }
        let second = max(Int64(ms / 1000), notBeforeSecond, lastNamedSecond + 1)
        lastNamedSecond = second
        return path + "." + Self.utcStamp(seconds: second)
    }

    /// YYYYmmddHHMMSS in UTC, by the days-from-civil algorithm in reverse (no time zone file,
    /// which the seccomp filter would not let localtime read anyway).
    static func utcStamp(seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)\(two(month))\(two(day))\(two(rest / 3600))\(two(rest % 3600 / 60))\(two(rest % 60))"
    }
}
