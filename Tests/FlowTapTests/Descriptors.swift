import Glibc

/// Everything a descriptor yields until end of file (a pipe whose writers have closed).
func readToEnd(_ fd: CInt) -> [UInt8] {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        bytes += buffer.prefix(n)
    }
    return bytes
}
