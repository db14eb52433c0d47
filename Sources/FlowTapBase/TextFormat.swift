/// The few printf formats flowtap's lines use, without Foundation: a number with a fixed count
/// of decimals ("%.3f") and an integer padded with zeros ("%02d", "%03x").
extension Double {
    /// Rounded to `decimals` places (half away from zero), always that many: 1.5.fixed(3) is
    /// "1.500". Not finite: "nan", "inf" or "-inf", as printf says.
    public func fixed(_ decimals: Int) -> String {
        guard isFinite else { return isNaN ? "nan" : self < 0 ? "-inf" : "inf" }
        var scale = 1.0
        for _ in 0 ..< max(0, decimals) { scale *= 10 }
        let scaled = (abs(self) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e18 else { return String(self) }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        let sign = self < 0 && units != 0 ? "-" : ""
        guard decimals > 0 else { return "\(sign)\(whole)" }
        return "\(sign)\(whole)." + (units % UInt64(scale)).padded(decimals)
    }
}

extension BinaryInteger {
    /// In `radix` (lower-case digits), with zeros in front up to `width` characters.
    public func padded(_ width: Int, radix: Int = 10) -> String {
        let digits = String(self, radix: radix)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
