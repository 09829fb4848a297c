import EvaluatorCore
import Foundation
import EvaluatorDevices
import EvaluatorProtocol
import EvaluatorSupport
import Logging
import ServiceLifecycle
import Synchronization

/// One "68" serial bus: owns its port for reading and writing. Reads: open the port raw 8N1,
/// decode frames, hand presses to the gateway. Writes: the pad commands the gateway routes to
/// this bus (prompts, acks), encoded as frames, one write(2) per batch. If the port cannot be
/// opened or goes away: log it, retry with backoff (1 s doubling to 30 s), never exit, never
/// busy-loop.
struct SerialBusService: Service {
    let bus: BusConfig
    let gateway: Gateway
    let commands: AsyncStream<[PadCommand]>
    let logger: Logger

    /// The port while it is open: the reader opens and closes it, the writer writes to it.
    /// While it is closed, the latest prompt per pad address is held (with the time its
    /// evaluation ends) and written when the port opens: an evaluation opened while the bus was
    /// down is prompted once the bus is back, exactly once. Acks are not held: the pad repeats
    /// an unacked press.
    final class OpenPort: Sendable {
        struct State {
            var port: SerialPort?
            var held: [UInt8: Millis?] = [:]
        }
        let state = Mutex(State())
    }

    private var meta: Logger.Metadata { ["bus": "\(bus.id)", "path": "\(bus.port)", "baud": "\(bus.baud)"] }

    func run() async throws {
        let open = OpenPort()
        await withDiscardingTaskGroup { group in
            group.addTask { await write(open) }
            await cancelWhenGracefulShutdown { await read(open) }
            group.cancelAll()
        }
    }

    private func write(_ open: OpenPort) async {
        for await batch in commands {
            let frames = batch.compactMap { c -> Framed68Frame? in
                switch c {
                case let .prompt(.serial(_, address), _): .startRating(address: address)
                case let .ack(.serial(_, address), key): .ack(address: address, key: UInt8(truncatingIfNeeded: key))
                default: nil
                }
            }
            let what = { frames.map { "\($0)" }.joined(separator: ", ") }
            do {
                let written = try open.state.withLock { s throws(DeviceError) -> Bool in
                    guard let port = s.port else {
                        for case let .prompt(.serial(_, address), until) in batch { s.held[address] = until }
                        return false
                    }
                    try port.write(frames.flatMap { $0.encoded() })
                    return true
                }
                if !written {
                    logger.warning("bus not attached: prompts are held until it is, acks dropped (the pad repeats its press)",
                                   metadata: ["bus": "\(bus.id)", "frames": "\(what())"])
                }
            } catch {
                gateway.stats.busError(bus.id)
                logger.warning("write to bus failed", metadata: ["bus": "\(bus.id)", "frames": "\(what())", "error": "\(error)"])
            }
        }
    }

    /// The port opened: it takes over from the held prompts (those whose evaluation is still
    /// open) and the prompts of restored evaluations, in one write.
    private func attach(_ port: SerialPort, _ open: OpenPort) async {
        let restored = await gateway.restoredPrompts(bus: bus.id).compactMap { c -> UInt8? in
            if case let .prompt(.serial(_, address), _) = c { address } else { nil }
        }
        if !restored.isEmpty {
            logger.info("restored evaluations prompted again", metadata: ["bus": "\(bus.id)", "pads": "\(restored.map { "\(PadID.serial(bus: bus.id, address: $0))" }.joined(separator: ","))"])
        }
        let now = Millis(date: Date())
        do {
            try open.state.withLock { s throws(DeviceError) in
                s.port = port
                let held = s.held.filter { $0.value.map { now < $0 } ?? true }.keys
                s.held = [:]
                let addresses = Array(Set(held).union(restored)).sorted()
                if !addresses.isEmpty {
                    try port.write(addresses.flatMap { Framed68Frame.startRating(address: $0).encoded() })
                }
            }
        } catch {
            gateway.stats.busError(bus.id)
            logger.warning("write to bus failed", metadata: ["bus": "\(bus.id)", "error": "\(error)"])
        }
    }

    private func read(_ open: OpenPort) async {
        var retry = Backoff(initialMs: 1000, maxMs: 30_000, jitter: false)
        while !Task.isCancelled {
            let port: SerialPort
            do {
                port = try SerialPort.open(path: bus.port, baud: bus.baud)
            } catch {
                if retry.failed(error) {
                    logger.warning("bus port cannot be opened; retrying with backoff", metadata: meta.merging(["error": "\(error)"]) { $1 })
                }
                await retry.wait()
                continue
            }
            retry.reset()
            let reader: DescriptorReader
            do {
                reader = try DescriptorReader(fd: port.fd, path: bus.port)
            } catch {
                logger.error("cannot start reading bus port", metadata: meta.merging(["error": "\(error)"]) { $1 })
                port.close()
                await retry.wait()
                continue
            }
            // Attached in the stats first: an evaluation opened from now on is told "prompted"
            // and its prompt is either written or held until the line below takes the port.
            gateway.stats.busAttached(bus.id, true)
            await attach(port, open)
            logger.notice("bus attached", metadata: meta)
            await decode(reader)
            gateway.stats.busAttached(bus.id, false)
            open.state.withLock { $0.port = nil }
            reader.stopAndWait()
            port.close()
            if Task.isCancelled { break }
            logger.notice("bus detached", metadata: meta)
            await retry.wait()
        }
    }

    private func decode(_ reader: DescriptorReader) async {
        var decoder = Framed68Decoder()
        var reported: [Framed68Discard: Int] = [:]
        var droppedReported = 0
        do {
            for try await chunk in reader.stream {
                if reader.dropped != droppedReported {
                    logger.warning("bus sends faster than it can be handled; reads dropped (bounded memory)", metadata: meta.merging([
                        "reads_dropped": "\(reader.dropped - droppedReported)",
                    ]) { $1 })
                    droppedReported = reader.dropped
                }
                let frames = decoder.decode(chunk)
                if !frames.isEmpty { await gateway.handleFrames(bus: bus.id, frames: frames) }
                if decoder.discarded != reported {
                    var delta: [String] = []
                    for (reason, count) in decoder.discarded.sorted(by: { "\($0.key)" < "\($1.key)" }) where count != reported[reason] {
                        delta.append("\(reason)=\(count - (reported[reason] ?? 0))")
                    }
                    gateway.metrics.decoderResync(bus: bus.id)
                    logger.warning("bus decoder resynchronised; bytes skipped", metadata: meta.merging(["skipped": "\(delta.joined(separator: " "))"]) { $1 })
                    reported = decoder.discarded
                }
            }
        } catch {
            logger.warning("bus port lost; will reopen", metadata: meta.merging(["error": "\(error)"]) { $1 })
        }
    }
}
