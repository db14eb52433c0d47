// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "flowtap",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "flowtap", targets: ["flowtap"]),
        .library(name: "FlowTap", targets: ["FlowTap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // `--metrics`: the Prometheus text exposition (flowtap serves it over HTTP itself).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The only C in the product: <linux/if_tun.h> ioctls, signalfd, eventfd, thread names,
        // capabilities, and the seccomp filter (seccomp.c).
        .target(name: "CFlowTapLinux"),
        .target(
            name: "FlowTap",
            dependencies: [
                "CFlowTapLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "flowtap",
            dependencies: [
                "FlowTap",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test-only C: system call numbers the product never names, a private netns.
        .target(name: "CFlowTapTestSupport", path: "Tests/CFlowTapTestSupport"),
        .testTarget(name: "FlowTapTests", dependencies: ["FlowTap", "CFlowTapLinux", "CFlowTapTestSupport"]),
    ]
)
