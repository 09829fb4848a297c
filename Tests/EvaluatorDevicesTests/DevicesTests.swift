import EvaluatorDevices
import Foundation
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A pty pair: the slave's path is a serial port to open.
func pty() -> (master: Int32, slave: Int32, path: String) {
    var m: Int32 = 0
    var s: Int32 = 0
    var name = [CChar](repeating: 0, count: 128)
    _ = openpty(&m, &s, &name, nil, nil)
    return (m, s, String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
}

@Suite("device I/O: serial ports and the descriptor reader, on real ptys and pipes")
struct DevicesTests {
    @Test("a reader yields what arrives and ends with disconnected at EOF")
    func readerEOF() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let reader = try DescriptorReader(fd: FileDescriptor(rawValue: fds[0]), path: "pipe")
        _ = [UInt8]([1, 2, 3]).withUnsafeBytes { write(fds[1], $0.baseAddress, 3) }
        close(fds[1])
        var got: [UInt8] = []
        do {
            for try await chunk in reader.stream { got += chunk }
            Issue.record("the stream ended without an error")
        } catch let e as DeviceError {
            #expect(e.code == .disconnected)
        }
        #expect(got == [1, 2, 3])
        reader.stopAndWait()
        close(fds[0])
    }

    @Test("a reader holds at most maxChunks reads for a slow consumer; the rest are dropped and counted (bounded memory)")
    func bounded() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let reader = try DescriptorReader(fd: FileDescriptor(rawValue: fds[0]), path: "pipe", chunkSize: 16)
        let chunk = [UInt8](repeating: 0x68, count: 16)
        // Nobody consumes: each 16-byte write is one read on the reader thread.
        for _ in 0..<(DescriptorReader.maxChunks + 100) {
            _ = chunk.withUnsafeBytes { write(fds[1], $0.baseAddress, 16) }
            usleep(200)
        }
        var waited = 0
        while reader.dropped == 0 && waited < 200 {
            usleep(10_000)
            waited += 1
        }
        #expect(reader.dropped > 0)
        close(fds[1])
        var kept = 0
        do { for try await c in reader.stream { kept += c.count } } catch {}
        #expect(kept <= DescriptorReader.maxChunks * 16)
        reader.stopAndWait()
        close(fds[0])
    }

    @Test("a serial port opens raw at a supported baud; an unsupported one is refused naming it; a second reader is refused")
    func serialPort() throws {
        let (m, s, path) = pty()
        defer { close(m); close(s) }
        let port = try SerialPort.open(path: path, baud: 9600)
        #expect {
            _ = try SerialPort.open(path: path, baud: 9600)
        } throws: { e in
            (e as? DeviceError)?.code == .busy && "\(e)".contains("in use by another program")
        }
        port.close()
        #expect {
            _ = try SerialPort.open(path: path, baud: 12345)
        } throws: { e in
            "\(e)".contains("unsupported baud rate 12345")
        }
    }
}
