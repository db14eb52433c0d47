// swift-tools-version:6.0
import PackageDescription

// One target a stage, in the order the pipeline runs, so that a stage's `import` lines are its
// dependencies and a use of a later stage does not compile (test-all builds with
// --explicit-target-dependency-import-check error, which refuses an import this file does not
// declare). docs/architecture.md draws the graph.
let package = Package(
    name: "flowtap",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "flowtap", targets: ["flowtap"]),
        // For the microbenchmark and the fuzzers (their own packages): the stages they drive.
        .library(name: "FlowTap", targets: ["FlowTapBase", "FlowTapDecode", "FlowTapDevice", "FlowTapMeter", "FlowTapEncode",
                                            "FlowTapSend", "FlowTapExport"]),
        // For the fuzzer of the application-visibility parsers.
        .library(name: "FlowTapInspect", targets: ["FlowTapInspect"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // JA4's SHA-256 and QUIC's Initial keys, header protection and AEAD (the
        // application-visibility parsers): cryptography is a library's. 4.x: its
        // Crypto imports FoundationEssentials where it can; 3.x imports Foundation, and with it ICU.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // `--metrics`: the Prometheus text exposition (flowtap serves it over HTTP itself).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The only C in the product: <linux/if_tun.h> ioctls, signalfd, eventfd, thread names,
        // capabilities, and the seccomp filter (seccomp.c); reached only through Base (layering.py).
        .target(name: "CFlowTapLinux"),
        // The vocabulary every stage shares, and the one syscall layer: depends on nothing of flowtap's.
        .target(name: "FlowTapBase", dependencies: ["CFlowTapLinux", .product(name: "SystemPackage", package: "swift-system")]),
        // Frames: TAPs and capture files; bytes into facts.
        .target(name: "FlowTapDecode", dependencies: ["FlowTapBase"]),
        // What a flow is, from its first bytes: the application-visibility parsers (TLS
        // ClientHello and JA4, HTTP, DNS, SSH, QUIC Initials), bounded; CryptoExtras for the
        // AES block function QUIC's header protection needs.
        .target(name: "FlowTapInspect", dependencies: ["FlowTapBase", .product(name: "Crypto", package: "swift-crypto"),
                                                       .product(name: "CryptoExtras", package: "swift-crypto")]),
        .target(name: "FlowTapDevice", dependencies: ["FlowTapBase", "FlowTapDecode", .product(name: "SystemPackage", package: "swift-system")]),
        // Facts into flows.
        .target(name: "FlowTapMeter", dependencies: ["FlowTapBase", "FlowTapDecode", "FlowTapInspect"]),
        // Flows into messages, messages onto the wire or into files, and the thread that does both.
        .target(name: "FlowTapEncode", dependencies: ["FlowTapBase", "FlowTapDecode", "FlowTapInspect", "FlowTapMeter"]),
        .target(name: "FlowTapSend", dependencies: ["FlowTapBase", "FlowTapEncode", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "FlowTapExport", dependencies: ["FlowTapBase", "FlowTapDecode", "FlowTapInspect", "FlowTapMeter", "FlowTapEncode", "FlowTapSend",
                                                      .product(name: "Logging", package: "swift-log")]),
        // The operator's side: the control socket, metrics, logs, the service manager.
        .target(name: "FlowTapControl", dependencies: ["FlowTapBase", "FlowTapDecode", "FlowTapInspect", "FlowTapMeter", "FlowTapSend", "FlowTapExport",
                                                       .product(name: "Logging", package: "swift-log"),
                                                       .product(name: "Prometheus", package: "swift-prometheus"),
                                                       .product(name: "SystemPackage", package: "swift-system")]),
        // The probe, by concern: the per-frame loop (which knows neither Control nor Export), the
        // privilege drop, the setup that wires the stages, the handover's two sides, `read`, and
        // `run` itself.
        .target(name: "FlowTapForward", dependencies: ["FlowTapBase", "FlowTapDecode", "FlowTapMeter",
                                                       .product(name: "Logging", package: "swift-log")]),
        .target(name: "FlowTapSecurity", dependencies: ["FlowTapBase", .product(name: "Logging", package: "swift-log"),
                                                        .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "FlowTapSetup", dependencies: ["FlowTapBase", "FlowTapDecode", "FlowTapDevice", "FlowTapInspect", "FlowTapMeter", "FlowTapEncode",
                                                     "FlowTapSend", "FlowTapExport", "FlowTapControl", "FlowTapForward",
                                                     "FlowTapSecurity", .product(name: "Logging", package: "swift-log")]),
        .target(name: "FlowTapLifecycle", dependencies: ["FlowTapBase", "FlowTapDecode", "FlowTapControl", "FlowTapSetup",
                                                         .product(name: "Logging", package: "swift-log")]),
        .target(name: "FlowTapRead", dependencies: ["FlowTapBase", "FlowTapDecode", "FlowTapDevice", "FlowTapInspect", "FlowTapMeter", "FlowTapEncode",
                                                    "FlowTapSend", "FlowTapExport", "FlowTapSetup",
                                                    .product(name: "Logging", package: "swift-log"),
                                                    .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "FlowTapProbe", dependencies: ["FlowTapBase", "FlowTapDecode", "FlowTapDevice", "FlowTapMeter", "FlowTapSend",
                                                     "FlowTapExport", "FlowTapControl", "FlowTapSecurity", "FlowTapSetup",
                                                     "FlowTapLifecycle", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "flowtap",
            dependencies: [
                "FlowTapBase", "FlowTapDecode", "FlowTapMeter", "FlowTapEncode", "FlowTapSend", "FlowTapControl",
                "FlowTapInspect", "FlowTapSecurity", "FlowTapSetup", "FlowTapRead", "FlowTapProbe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test-only C: system call numbers the product never names, a private netns.
        .target(name: "CFlowTapTestSupport", path: "Tests/CFlowTapTestSupport"),
        .testTarget(name: "FlowTapTests", dependencies: [
            "FlowTapBase", "FlowTapDecode", "FlowTapInspect", "FlowTapDevice", "FlowTapMeter", "FlowTapEncode", "FlowTapSend",
            "FlowTapExport", "FlowTapControl", "FlowTapForward", "FlowTapSecurity", "FlowTapSetup", "FlowTapLifecycle", "FlowTapRead", "FlowTapProbe",
            "CFlowTapLinux", "CFlowTapTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
