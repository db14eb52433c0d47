/// Application templates where a labelled record's encoding reads them in place. Taken out of
/// an array (`if let t = templates[i]`), a template was copied for every record, its two field
/// lists retained and released, with the copy's outlined code (callgrind on `read` of a
/// capture rich in named flows); so was one read through a pointer to an optional
/// (`p.pointee!`), or one whose method was called (`p.pointee.f()`): the caller reads its
/// trivial fields. Here the templates lie unwrapped, and `slot(i)` says where.
///
/// Invariants: `base` points to the `count` templates present, initialised, which this table
/// owns and no one changes after `init`; `index` holds, per position given to `init`, the
/// template's place in `base` or -1 where there was none. Encoders copied from one another
/// share it.
final class TemplateTable<Element>: @unchecked Sendable {
    private let base: UnsafeMutablePointer<Element>
    private let index: UnsafeMutablePointer<Int>
    private let count: Int
    /// Positions, present or not.
    let positions: Int

    init(_ elements: [Element?]) {
        positions = elements.count
        count = elements.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        base = .allocate(capacity: max(1, count))
        index = .allocate(capacity: max(1, positions))
        var n = 0
        for (i, e) in elements.enumerated() {
            guard let e else {
                (index + i).initialize(to: -1)
                continue
            }
            (base + n).initialize(to: e)
            (index + i).initialize(to: n)
            n += 1
        }
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
        index.deallocate()
    }

    /// Where the template at position `i` lies; nil when there is none (or `i` is beyond).
    @inline(__always)
    func slot(_ i: Int) -> UnsafeMutablePointer<Element>? {
        guard i >= 0, i < positions, index[i] >= 0 else { return nil }
        return base + index[i]
    }
}
