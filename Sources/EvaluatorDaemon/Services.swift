import EvaluatorCore
import EvaluatorDevices
import EvaluatorProtocol
import Foundation
import Logging
import EvaluatorUplink
import ServiceLifecycle

/// Ends sessions when their deadline passes (R5: a timed-out session yields `unrated`).
/// Sleeps until the next deadline; with no open session it sleeps, with no timer, until one is
/// opened (no idle wake-ups).
struct SessionClockService: Service {
    let gateway: Gateway
    let clock: @Sendable () -> Millis

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let now = clock()
                // No open session: no timer at all (a new session fires deadlinesChanged).
                let wait = await gateway.nextDeadline().map { max(5, $0 - now) }
                await gateway.deadlinesChanged.wait(milliseconds: wait)
                await gateway.tick()
            }
        }
    }
}

/// One "68" serial bus: open the port raw 8N1, decode frames, hand presses to the gateway.
/// If the port cannot be opened or goes away: log it, retry with backoff (1 s doubling to
/// 30 s), never exit, never busy-loop.
struct SerialBusService: Service {
    let bus: BusConfig
    let gateway: Gateway
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        var retry = OpenRetry(initialMs: 1000, maxMs: 30_000)
        let meta: Logger.Metadata = ["bus": "\(bus.id)", "path": "\(bus.port)", "baud": "\(bus.baud)"]
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
            retry.succeeded()
            let reader: DescriptorReader
            do {
                reader = try DescriptorReader(fd: port.fd, path: bus.port)
            } catch {
                logger.error("cannot start reading bus port", metadata: meta.merging(["error": "\(error)"]) { $1 })
                port.close()
                await retry.wait()
                continue
            }
            await gateway.busAttached(bus.id, port: port)
            logger.notice("bus attached", metadata: meta)
            var decoder = Framed68Decoder()
            var reported: [Framed68Discard: Int] = [:]
            do {
                for try await chunk in reader.stream {
                    let frames = decoder.decode(chunk)
                    if !frames.isEmpty { await gateway.handleFrames(bus: bus.id, frames: frames) }
                    if decoder.discarded != reported {
                        var delta: [String] = []
                        for (reason, count) in decoder.discarded.sorted(by: { "\($0.key)" < "\($1.key)" }) where count != reported[reason] {
                            delta.append("\(reason)=\(count - (reported[reason] ?? 0))")
                        }
                        logger.warning("bus decoder resynchronised; bytes skipped", metadata: meta.merging(["skipped": "\(delta.joined(separator: " "))"]) { $1 })
                        reported = decoder.discarded
                    }
                }
            } catch {
                logger.warning("bus port lost; will reopen", metadata: meta.merging(["error": "\(error)"]) { $1 })
            }
            await gateway.busDetached(bus.id)
            reader.stopAndWait()
            port.close()
            if Task.isCancelled { break }
            logger.notice("bus detached", metadata: meta)
            await retry.wait()
        }
    }
}
