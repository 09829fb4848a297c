// make bench, part 1: decoder throughput on this box, built with -O from the pure sources.
// Goal (issue 6): ≥ 100 MB/s for framed-68, evdev and hidraw. Reference: a plain byte sum over
// the same buffer in the same run (memory bandwidth as the decoders see it).
import Foundation

func measure(_ name: String, bytes: [UInt8], reps: Int, _ body: ([UInt8]) -> Int) -> (String, Double, Int) {
    var sink = 0
    var best = Double.infinity
    for _ in 0..<reps {
        let t0 = DispatchTime.now().uptimeNanoseconds
        sink &+= body(bytes)
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        best = min(best, dt)
    }
    return (name, Double(bytes.count) / best / 1e6, sink)
}

@main
struct DecoderBench {
    static func main() {
        let size = 32 << 20
        var framed: [UInt8] = []
        var i = 0
        while framed.count < size {
            framed += Framed68Frame.press(address: UInt8(i % 32), key: UInt8(i % 4)).encoded()
            if i % 10 == 0 { framed += [0x00, 0x42, 0x68, 0x13] } // garbage to resynchronise over
            i += 1
        }
        var evdev: [UInt8] = []
        i = 0
        while evdev.count < size {
            evdev += InputEvent(seconds: Int64(i), type: 4, code: 4, value: 458841).encoded()
            evdev += InputEvent(seconds: Int64(i), type: 1, code: UInt16(75 + i % 5), value: Int32(i % 3)).encoded()
            evdev += InputEvent(seconds: Int64(i), type: 0, code: 0, value: 0).encoded()
            i += 1
        }
        var hid: [UInt8] = []
        i = 0
        while hid.count < size {
            hid += [0, 0, UInt8(0x59 + i % 5), 0, 0, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0, 0]
            i += 1
        }
        let chunk = 4096 // what a read(2) of a busy port delivers at most in the daemon
        let results = [
            measure("byte sum (reference)", bytes: framed, reps: 5) { b in b.reduce(0) { $0 &+ Int($1) } },
            measure("framed-68 decoder", bytes: framed, reps: 5) { b in
                var d = Framed68Decoder(); var n = 0; var o = 0
                while o < b.count { n += d.decode(b[o..<min(b.count, o + chunk)]).count; o += chunk }
                return n
            },
            measure("evdev decoder + key tracker", bytes: evdev, reps: 5) { b in
                var d = EvdevDecoder(); var t = EvdevKeyTracker(); var n = 0; var o = 0
                while o < b.count {
                    for e in d.decode(b[o..<min(b.count, o + chunk)]) { n += t.handle(e).count }
                    o += chunk
                }
                return n
            },
            measure("hidraw decoder", bytes: hid, reps: 5) { b in
                var d = HidrawDecoder(); var n = 0; var o = 0
                while o < b.count { n += d.decode(b[o..<min(b.count, o + chunk)]).count; o += chunk }
                return n
            },
        ]
        let reference = results[0].1
        var json: [String] = []
        print("decoder                          MB/s     vs byte sum   goal ≥100 MB/s")
        for (name, mbps, _) in results {
            let goal = name.contains("reference") ? "" : (mbps >= 100 ? "met" : "NOT met")
            print(name.padding(toLength: 30, withPad: " ", startingAt: 0) + String(format: "%8.1f   %8.3f×     %@", mbps, mbps / reference, goal))
            json.append(String(format: "{\"name\":\"%@\",\"mb_per_s\":%.1f,\"ratio_to_byte_sum\":%.4f}", name, mbps, mbps / reference))
        }
        let out = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "bench-decoders.json"
        try? ("[" + json.joined(separator: ",") + "]\n").write(toFile: out, atomically: true, encoding: .utf8)
    }
}
