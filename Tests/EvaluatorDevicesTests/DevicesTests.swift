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
