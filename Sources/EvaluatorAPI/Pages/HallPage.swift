/// The hall status page (`GET /ui?token=…`, issue 14) for hall IT staff: every window with its
/// pad, staff, open evaluation, today's figures and a bar of today's levels; backlog and uplink;
/// problems first; each screen pad's address with its token as a QR code. It reads the same
/// JSON the API gives (`/v1/status`, `/v1/windows`, `/v1/stats`, `/ui/pads`) with the token
/// from its address, and refreshes itself every 5 s. Hooks: `[data-window="<id>"]` per row.
enum HallPage {
    static let html = ##"""
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>评价器运行状态</title>
<style>
* { box-sizing:border-box; }
body { margin:0; font-family:"Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif;
  background:#f3f6fa; color:#1d2733; font-size:15px; }
header { background:#1f3a5f; color:#fff; padding:.8em 1.2em; display:flex; justify-content:space-between; align-items:center; flex-wrap:wrap; gap:.5em; }
header h1 { font-size:1.3em; margin:0; }
main { padding:1em 1.2em; }
.summary { display:flex; flex-wrap:wrap; gap:1em; margin-bottom:1em; }
.tile { background:#fff; border-radius:10px; padding:.7em 1em; box-shadow:0 1px 4px rgba(0,0,0,.08); min-width:12em; }
.tile .k { color:#5b6775; font-size:.9em; } .tile .v { font-size:1.4em; font-weight:700; }
.state-ok { color:#1b8a3a; } .state-degraded { color:#e65100; } .state-failing { color:#c62828; }
#problems { margin:0 0 1em; padding:0; list-style:none; }
#problems li { background:#fdecea; color:#8a1c1c; border-radius:8px; padding:.5em .8em; margin-bottom:.4em; }
table { width:100%; border-collapse:collapse; background:#fff; border-radius:10px; overflow:hidden; box-shadow:0 1px 4px rgba(0,0,0,.08); }
th, td { text-align:left; padding:.55em .7em; border-bottom:1px solid #e6ebf1; vertical-align:middle; }
th { background:#eef2f7; font-weight:600; white-space:nowrap; }
tr.problem td { background:#fff6f5; }
.pill { display:inline-block; padding:.1em .6em; border-radius:999px; font-size:.9em; white-space:nowrap; }
.pill.ok { background:#e3f4e8; color:#1b6b34; } .pill.bad { background:#fdecea; color:#a11d1d; } .pill.none { background:#eceff1; color:#546e7a; }
.bar { display:flex; width:10em; height:.9em; border-radius:4px; overflow:hidden; background:#eceff1; }
.bar span { display:block; height:100%; }
.l1 { background:#1b8a3a; } .l2 { background:#4caf50; } .l3 { background:#e0a100; } .l4 { background:#e65100; } .l5 { background:#c62828; }
.legend span { display:inline-flex; align-items:center; gap:.3em; margin-right:.8em; font-size:.9em; }
.legend i { width:.8em; height:.8em; display:inline-block; border-radius:2px; }
h2 { font-size:1.1em; margin:1.4em 0 .6em; }
.pads { display:flex; flex-wrap:wrap; gap:1em; }
.pad { background:#fff; border-radius:10px; padding:.8em; box-shadow:0 1px 4px rgba(0,0,0,.08); width:15em; text-align:center; }
.pad svg { width:100%; height:auto; }
.pad .addr { font-size:.75em; word-break:break-all; color:#5b6775; }
#updated { font-size:.9em; opacity:.85; }
#error { color:#c62828; font-weight:700; }
</style>
</head>
<body>
<header><h1>评价器运行状态</h1><span id="updated">正在读取…</span></header>
<main>
  <div id="error"></div>
  <div class="summary">
    <div class="tile"><div class="k">网关状态</div><div class="v" id="gateway-state">—</div></div>
    <div class="tile"><div class="k">待上传记录</div><div class="v" id="backlog">—</div></div>
    <div class="tile"><div class="k">最早待上传</div><div class="v" id="oldest">—</div></div>
    <div class="tile"><div class="k">最近上传</div><div class="v" id="last-upload">—</div></div>
    <div class="tile"><div class="k">今日评价 / 参评率</div><div class="v" id="today">—</div></div>
  </div>
  <ul id="problems"></ul>
  <div class="legend"><span><i class="l1"></i>非常满意</span><span><i class="l2"></i>满意</span><span><i class="l3"></i>基本满意</span><span><i class="l4"></i>不满意</span><span><i class="l5"></i>非常不满意</span></div>
  <table>
    <thead><tr><th>窗口</th><th>评价器</th><th>工作人员</th><th>当前评价</th><th>今日办件</th><th>今日评价</th><th>参评率</th><th>今日评价分布</th></tr></thead>
    <tbody id="windows"></tbody>
  </table>
  <h2>平板评价器地址（扫码打开）</h2>
  <div class="pads" id="pads"></div>
</main>
<script>
"use strict";
(function () {
  var token = new URLSearchParams(location.search).get("token") || "";
  var levels = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"];
  var padState = { attached: "在线", detached: "离线", flooding: "按键异常", unpaired: "未配对" };
  var uplinkState = { ok: "正常", failing: "失败", none: "未配置" };
  function $(id) { return document.getElementById(id); }
  function get(path) {
    return fetch(path, { headers: token ? { Authorization: "Bearer " + token } : {} }).then(function (r) {
      if (!r.ok) throw new Error(path + ": HTTP " + r.status);
      return r.json();
    });
  }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text != null) e.textContent = text; if (cls) e.className = cls; return e; }
  function age(s) { if (s == null) return "—"; if (s < 60) return s + " 秒"; if (s < 3600) return Math.floor(s / 60) + " 分钟"; return Math.floor(s / 3600) + " 小时"; }
  function when(t) { if (!t) return "—"; var d = new Date(t); return d.toLocaleString("zh-CN", { hour12: false }); }
  function pct(x) { return x == null ? "—" : Math.round(x * 100) + "%"; }

  function render(status, windows, stats, pads) {
    $("error").textContent = "";
    var st = $("gateway-state");
    st.textContent = { ok: "正常", degraded: "需要关注", failing: "故障" }[status.state] || status.state;
    st.className = "v state-" + status.state;
    $("backlog").textContent = status.backlog.records + (status.backlog.quarantined ? "（隔离 " + status.backlog.quarantined + "）" : "");
    $("oldest").textContent = age(status.backlog.oldest_age_s);
    $("last-upload").textContent = status.uplink.last_upload_at ? when(status.uplink.last_upload_at) : (uplinkState[status.uplink.state] || status.uplink.state);
    $("today").textContent = stats.total.rated + " / " + pct(stats.total.participation);
    var problems = $("problems"); problems.innerHTML = "";
    status.problems.forEach(function (p) { problems.appendChild(el("li", p.message)); });
    var padsByWindow = {};
    status.pads.forEach(function (p) { if (p.window_id) padsByWindow[p.window_id] = p; });
    var statsByWindow = {};
    stats.groups.forEach(function (g) { if (g.key) statsByWindow[g.key] = g; });
    var rows = windows.windows.map(function (w) {
      var pad = padsByWindow[w.id];
      var trouble = !!((w.pad && (!pad || pad.state !== "attached")) || (w.session && w.session.pad_offline));
      return { w: w, pad: pad, g: statsByWindow[w.id], trouble: trouble };
    });
    rows.sort(function (a, b) { return (b.trouble - a.trouble) || a.w.id.localeCompare(b.w.id); });
    var body = $("windows"); body.innerHTML = "";
    rows.forEach(function (r) {
      var w = r.w, tr = document.createElement("tr");
      tr.setAttribute("data-window", w.id);
      if (r.trouble) tr.className = "problem";
      tr.appendChild(el("td", w.name + (w.paused ? "（暂停服务）" : "")));
      var padCell = el("td");
      if (!w.pad) padCell.appendChild(el("span", "无评价器", "pill none"));
      else padCell.appendChild(el("span", (padState[r.pad ? r.pad.state : "detached"] || r.pad.state) + " · " + w.pad, "pill " + (r.pad && r.pad.state === "attached" ? "ok" : "bad")));
      tr.appendChild(padCell);
      tr.appendChild(el("td", w.staff ? w.staff.name + "（" + w.staff.staff_id + "）" : "未签到"));
      tr.appendChild(el("td", w.session ? (w.session.case_id + (w.session.rated ? "（已评）" : "（待评）")) : "—"));
      var g = r.g || { opened: 0, rated: 0, participation: null, levels: {} };
      tr.appendChild(el("td", String(g.opened)));
      tr.appendChild(el("td", String(g.rated)));
      tr.appendChild(el("td", pct(g.participation)));
      var bar = el("div", null, "bar"), total = 0;
      levels.forEach(function (l) { total += (g.levels && g.levels[l]) || 0; });
      levels.forEach(function (l, i) {
        var n = (g.levels && g.levels[l]) || 0;
        if (!n) return;
        var s = el("span", null, "l" + (i + 1)); s.style.width = (100 * n / total) + "%"; s.title = n; bar.appendChild(s);
      });
      var barCell = el("td"); barCell.appendChild(bar); tr.appendChild(barCell);
      body.appendChild(tr);
    });
    var box = $("pads"); box.innerHTML = "";
    if (!pads) {
      box.appendChild(el("div", "平板评价器地址只对管理员令牌（admin 权限）显示：请用管理员令牌打开本页，或用 evaluatorctl pair 配对平板。", "pads-admin-only"));
      $("updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
      return;
    }
    pads.pads.forEach(function (p) {
      var card = el("div", null, "pad");
      card.setAttribute("data-pad-window", p.window_id);
      card.appendChild(el("div", p.window_name + " · " + p.pad));
      if (p.url) {
        var q = document.createElement("div"); q.innerHTML = p.qr_svg; card.appendChild(q);
        card.appendChild(el("div", p.url, "addr"));
      } else {
        // A pad that pairs: its secret is never shown here (issue 20).
        card.appendChild(el("div", (p.paired_at ? "已配对（" + new Date(p.paired_at).toLocaleString("zh-CN", { hour12: false }) + "）" : "未配对") +
                                   "：管理员在本机运行 " + p.pair_with + " 配对平板", "addr"));
      }
      box.appendChild(card);
    });
    if (!pads.pads.length) box.appendChild(el("div", "本网关没有配置平板评价器"));
    $("updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
  }

  function refresh() {
    Promise.all([get("/v1/status"), get("/v1/windows"), get("/v1/stats?by=window"),
                 get("/ui/pads").catch(function (e) { if (/HTTP 403$/.test(e.message)) return null; throw e; })])
      .then(function (r) { render(r[0], r[1], r[2], r[3]); })
      .catch(function (e) { $("error").textContent = "读取失败：" + e.message; });
  }
  refresh();
  setInterval(refresh, 5000);
})();
</script>
</body>
</html>
"""##
}
