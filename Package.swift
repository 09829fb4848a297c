// swift-tools-version:6.1
import PackageDescription

// Shared settings for every target (hummingbird's Package.swift does the same).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "EvaluatorGateway",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "evaluatord", targets: ["evaluatord"]),
        .executable(name: "evaluatorctl", targets: ["evaluatorctl"]),
        // For the libFuzzer package in Fuzz/ (config loader, API bodies).
        .library(name: "EvaluatorCore", targets: ["EvaluatorCore"]),
        .library(name: "EvaluatorAPI", targets: ["EvaluatorAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // libudev, linked now so the build proves it (device discovery hangs off it).
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        // libqrencode: the screen pads' addresses as QR codes on the hall status page (issue 14).
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        // zlib, for optional gzip of uplink bodies.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // The evdev ioctls (EVIOCGRAB, EVIOCGKEY): ioctl(2) is variadic, so C wraps it once.
        .target(name: "CLinuxInput"),
        // The git commit of the build (scripts/stamp-commit.sh), linked weakly: see default.c.
        .target(name: "CBuildInfo"),

        // Small shared parts for the impure layers: the wake-up signal, the backoff, the reader thread.
        .target(
            name: "EvaluatorSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),

        // Pure: bytes in, frames out. No I/O, no clocks.
        .target(name: "EvaluatorProtocol", swiftSettings: swiftSettings),

        // Pure: levels, key maps, config model, window-session policy, records.
        .target(
            name: "EvaluatorCore",
            dependencies: [
                "EvaluatorProtocol", "CBuildInfo",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: swiftSettings
        ),

        // SQLite (GRDB): the durable outbox and open-session table.
        .target(
            name: "EvaluatorStore",
            dependencies: [
                "EvaluatorCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // Linux device I/O: termios serial now, libudev for discovery.
        .target(
            name: "EvaluatorDevices",
            dependencies: [
                "EvaluatorProtocol",
                "EvaluatorCore",
                "EvaluatorSupport",
                "CUdev",
                "CLinuxInput",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),

        // Uplink to the central store.
        .target(
            name: "EvaluatorUplink",
            dependencies: [
                "EvaluatorCore",
                "EvaluatorStore",
                "EvaluatorSupport",
                "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),

        // Pure: the API's JSON views, encoded by the daemon and decoded by evaluatorctl (issue 21).
        .target(name: "EvaluatorWire", dependencies: ["EvaluatorCore"], swiftSettings: swiftSettings),

        // Local HTTP API for the business / queue system.
        .target(
            name: "EvaluatorAPI",
            dependencies: [
                "EvaluatorCore", "EvaluatorWire", "CQREncode",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Pages/assets"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedAssetsPlugin"]
        ),
        // The pages' HTML/CSS/JS compiled into the API target (issue 21).
        .executableTarget(name: "EmbedAssets", swiftSettings: swiftSettings),
        .plugin(name: "EmbedAssetsPlugin", capability: .buildTool(), dependencies: ["EmbedAssets"]),

        // Wiring: services, gateway actor, systemd notify.
        .target(
            name: "EvaluatorDaemon",
            dependencies: [
                "EvaluatorProtocol", "EvaluatorCore", "EvaluatorStore", "EvaluatorDevices",
                "EvaluatorUplink", "EvaluatorAPI", "EvaluatorWire", "EvaluatorSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "evaluatord",
            dependencies: [
                "EvaluatorDaemon", "EvaluatorStore", "EvaluatorSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The operator's CLI and the "68" pad simulator: links the store and an HTTP client,
        // not the daemon (no Hummingbird, no uplink, no device services).
        .target(
            name: "EvaluatorCLI",
            dependencies: [
                "EvaluatorProtocol", "EvaluatorCore", "EvaluatorWire", "EvaluatorStore", "CQREncode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "evaluatorctl", dependencies: ["EvaluatorCLI"], swiftSettings: swiftSettings),
        // make bench: a large store made through the store's own commit path (lifetime figures).
        .executableTarget(name: "bench-storegen", dependencies: ["EvaluatorStore", "EvaluatorCore"], path: "Bench/StoreGen", swiftSettings: swiftSettings),

        // One test target per module. EvaluatorTestSupport (a plain target under Tests/) holds what several
        // of them share: log capture, a scripted central store, a Hummingbird receiver.
        .target(
            name: "EvaluatorTestSupport",
            dependencies: [
                "EvaluatorCore", "EvaluatorStore", "EvaluatorUplink",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/EvaluatorTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "EvaluatorProtocolTests", dependencies: ["EvaluatorProtocol"], swiftSettings: swiftSettings),
        .testTarget(name: "EvaluatorCoreTests", dependencies: ["EvaluatorCore"], swiftSettings: swiftSettings),
        .testTarget(name: "EvaluatorWireTests", dependencies: ["EvaluatorWire", "EvaluatorCore"], swiftSettings: swiftSettings),
        .testTarget(name: "EvaluatorSupportTests", dependencies: ["EvaluatorSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "EvaluatorStoreTests", dependencies: ["EvaluatorStore", "EvaluatorCore", "EvaluatorTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "EvaluatorAPITests", dependencies: ["EvaluatorAPI", "EvaluatorWire", "EvaluatorCore", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird")], swiftSettings: swiftSettings),
        .testTarget(
            name: "EvaluatorDevicesTests",
            dependencies: ["EvaluatorDevices", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EvaluatorCLITests",
            dependencies: ["EvaluatorCLI", "EvaluatorCore", "EvaluatorWire", "EvaluatorStore", "EvaluatorTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EvaluatorUplinkTests",
            dependencies: [
                "EvaluatorUplink", "EvaluatorStore", "EvaluatorCore", "EvaluatorSupport", "EvaluatorTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EvaluatorDaemonTests",
            dependencies: [
                "EvaluatorDaemon", "EvaluatorCLI", "EvaluatorStore", "EvaluatorCore", "EvaluatorWire", "EvaluatorProtocol", "EvaluatorTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
