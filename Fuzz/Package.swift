// swift-tools-version:6.1
// libFuzzer targets that need the package's dependencies (TOMLKit for the config loader):
// built by Fuzz/run.sh with `-sanitize=fuzzer,address -parse-as-library`, kept apart from the
// main package so `make test` never builds them. The pure decoders are fuzzed from their
// sources directly (see run.sh).
import Foundation
import PackageDescription

// A path dependency is named after its folder, which differs between clones.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "EvaluatorFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: root.path)],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzConfig", dependencies: ["FuzzDriver", .product(name: "EvaluatorCore", package: root.lastPathComponent)]),
        .executableTarget(name: "FuzzAPIBody", dependencies: ["FuzzDriver", .product(name: "EvaluatorAPI", package: root.lastPathComponent)]),
    ]
)
