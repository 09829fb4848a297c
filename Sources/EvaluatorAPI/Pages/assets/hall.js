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
    // Hall staff read the Chinese text; the operator's English detail is the hover text.
    status.problems.forEach(function (p) {
      var li = el("li", p.text || p.message); li.title = p.code + ": " + p.message; li.setAttribute("data-code", p.code);
      problems.appendChild(li);
    });
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
