// swift-tools-version:6.1
// Microbenchmarks of flowtap's per-packet path, apart from the product's package so that
// building and testing flowtap never builds package-benchmark. Run: Benchmarks/run.sh
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which is whatever the checkout is called.
let flowtapPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "flowtap-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(
            name: "MeterWorkload",
            dependencies: [.product(name: "FlowTap", package: flowtapPackage)],
            path: "Benchmarks/MeterWorkload"
        ),
        .executableTarget(
            name: "MeterProfile",
            dependencies: ["MeterWorkload", .product(name: "FlowTap", package: flowtapPackage)],
            path: "Benchmarks/MeterProfile"
        ),
        .executableTarget(
            name: "MeterBenchmark",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "FlowTap", package: flowtapPackage),
                "MeterWorkload",
            ],
            path: "Benchmarks/MeterBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
