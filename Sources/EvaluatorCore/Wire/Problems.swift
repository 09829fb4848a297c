/// Every problem the gateway reports, made in one place: its code, the English detail for
/// operators and the Chinese text hall staff read on the status page (issue 21). A window is
/// named by its configured name where staff see it, by its id in the detail.
extension Problem {
    public static func storeForeignObject(_ finding: String) -> Problem {
        Problem(code: "store_foreign_object", message: finding,
                text: "数据库中有不是本程序建立的对象：请联系技术支持检查本机")
    }

    public static func chainBroken(seq: Int64, what: String) -> Problem {
        Problem(code: "chain_broken", message: "the chain's tail is broken at seq \(seq): \(what)",
                text: "评价记录链在第 \(seq) 条处断开，记录可能被改动：请联系技术支持（evaluatorctl verify）")
    }

    public static func chainUnreadable(_ error: String) -> Problem {
        Problem(code: "chain_unreadable", message: "the chain's tail cannot be read: \(error)",
                text: "无法读取评价记录链：请联系技术支持（evaluatorctl verify）")
    }

    public static func storeReplaced(_ detail: String) -> Problem {
        Problem(code: "store_replaced", message: detail,
                text: "数据库文件损坏，已另存并换用新库，评价照常进行：请联系技术支持取回旧库中的记录")
    }

    public static func storeUnwritable(_ detail: String) -> Problem {
        Problem(code: "store_unwritable", message: detail,
                text: "评价数据无法保存，评价已暂停：请立即联系技术支持检查本机磁盘")
    }

    public static func padUnpaired(pad: PadID, windowID: String?, windowName: String?) -> Problem {
        Problem(code: "pad_unpaired",
                message: "screen pad \(pad) of window \(windowID ?? "-") is not paired: run evaluatorctl pair \(windowID ?? "WINDOW")",
                text: "\(windowName ?? windowID ?? "未分配窗口")的平板评价器尚未配对：请管理员运行 evaluatorctl pair \(windowID ?? "窗口编号")")
    }

    public static func padAbsent(pad: PadID, windowID: String?, windowName: String?, path: String) -> Problem {
        Problem(code: "pad_absent", message: "pad \(pad) of window \(windowID ?? "-") is not attached (\(path))",
                text: "\(windowName ?? windowID ?? "未分配窗口")的评价器未连接：请检查评价器的连线和电源")
    }

    public static func uplinkStalled(detail: String, waitingMinutes: Int64) -> Problem {
        Problem(code: "uplink_stalled", message: detail,
                text: "评价数据已有 \(waitingMinutes) 分钟未能上传，数据已安全保存在本机：请检查与省平台的网络连接")
    }
}
