// swift-tools-version:6.0
// The libFuzzer targets of flowtap's per-frame path (FuzzMeter), capture file reader (FuzzCapture) and
// application-visibility parsers (FuzzInspect) and QUIC's Initials (FuzzQUIC): built by fuzz.sh with
// -sanitize=fuzzer,address -parse-as-library (as swift-protobuf's FuzzTesting does).
import PackageDescription

let package = Package(
    name: "FlowTapFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "flowtap", path: "..")],
    targets: [
        .executableTarget(name: "FuzzMeter", dependencies: [
            .product(name: "FlowTap", package: "flowtap"), .product(name: "FlowTapInspect", package: "flowtap"),
        ]),
        .executableTarget(name: "FuzzCapture", dependencies: [.product(name: "FlowTap", package: "flowtap")]),
        .executableTarget(name: "FuzzInspect", dependencies: [.product(name: "FlowTapInspect", package: "flowtap")]),
        .executableTarget(name: "FuzzQUIC", dependencies: [.product(name: "FlowTapInspect", package: "flowtap")]),
    ]
)
