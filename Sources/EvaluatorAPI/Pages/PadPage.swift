/// The screen pad's page (`GET /pad/{window}?token=…`, issue 14; protocol in docs/SCREEN-PAD.md):
/// one self-contained document — no CDN, no build step — for a kiosk browser in full screen.
/// The state is in `body[data-state]`; the hooks (`data-level`, `data-reason`, `#staff-name` …)
/// are stable for tests and for halls that restyle it. It never shows thanks for a rating the
/// gateway did not ack; an unacked rating is sent again after a reconnect.
enum PadPage {
    static let html = ##"""
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, user-scalable=no">
<title>服务评价</title>
<style>
:root { --fg:#1d2733; --muted:#5b6775; --bg:#f3f6fa; --card:#fff; --accent:#c4161c;
  --l1:#1b8a3a; --l2:#4caf50; --l3:#e0a100; --l4:#e65100; --l5:#c62828; }
* { box-sizing: border-box; }
html, body { margin:0; height:100%; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", sans-serif;
  background:var(--bg); color:var(--fg); font-size:clamp(18px, 2.6vmin, 30px); -webkit-user-select:none; user-select:none; touch-action:manipulation; }
header { background:var(--accent); color:#fff; padding:0.7em 1em; display:flex; justify-content:space-between; align-items:center; gap:1em; }
header .hall { font-size:1.25em; font-weight:700; }
header .win { font-size:1.1em; }
main { padding:1.2em; max-width:1800px; margin:0 auto; }
section { display:none; }
body[data-state="idle"] #idle, body[data-state="paused"] #paused, body[data-state="prompt"] #prompt,
body[data-state="reason"] #reason, body[data-state="dimensions"] #dimensions, body[data-state="sending"] #sending,
body[data-state="thanks"] #thanks, body[data-state="offline"] #offline { display:block; }
body[data-state="idle"] #staff, body[data-state="prompt"] #staff, body[data-state="paused"] #staff,
body[data-state="reason"] #staff, body[data-state="dimensions"] #staff { display:flex; }
#staff { display:none; background:var(--card); border-radius:16px; padding:1em; gap:1em; align-items:center; box-shadow:0 2px 8px rgba(0,0,0,.08); margin-bottom:1em; }
#staff img { width:5em; height:6.25em; object-fit:cover; border-radius:10px; background:#dde3ea; }
#staff .who { display:flex; flex-direction:column; gap:.2em; }
#staff-name { font-size:1.6em; font-weight:700; }
#staff-title, #staff-id { color:var(--muted); }
.card { background:var(--card); border-radius:16px; padding:1.2em; box-shadow:0 2px 8px rgba(0,0,0,.08); }
.big { font-size:1.7em; font-weight:700; margin:.2em 0 .6em; text-align:center; }
.line { display:flex; justify-content:space-between; flex-wrap:wrap; gap:.5em 1.5em; margin-bottom:.8em; }
.line b { font-weight:700; }
#countdown { color:var(--accent); font-weight:700; }
.levels { display:grid; grid-template-columns:repeat(auto-fit, minmax(9em, 1fr)); gap:.8em; }
@media (orientation: portrait) { .levels { grid-template-columns:1fr; } }
button { font:inherit; border:0; border-radius:14px; cursor:pointer; min-height:3.2em; padding:.6em 1em; color:#fff; font-weight:700; font-size:1.25em; }
button:active { transform:scale(.98); }
button[data-level="very_satisfied"] { background:var(--l1); } button[data-level="satisfied"] { background:var(--l2); }
button[data-level="basic"] { background:var(--l3); } button[data-level="dissatisfied"] { background:var(--l4); }
button[data-level="very_dissatisfied"] { background:var(--l5); }
.reasons { display:grid; grid-template-columns:repeat(auto-fit, minmax(12em, 1fr)); gap:.7em; margin:.8em 0; }
.reasons button { background:#455a64; }
.text { display:flex; gap:.7em; margin-top:.6em; }
#reason-text { flex:1; font:inherit; padding:.6em; border-radius:12px; border:2px solid #b0bec5; min-height:3.2em; }
.text button, #dimensions [data-submit] { background:var(--accent); }
.dim { margin-bottom:1em; }
.dim .name { font-weight:700; margin-bottom:.4em; }
.dim .row { display:grid; grid-template-columns:repeat(5, 1fr); gap:.4em; }
.dim button { font-size:.9em; min-height:2.6em; opacity:.45; }
.dim button.chosen { opacity:1; outline:4px solid var(--fg); }
#dimensions [data-submit][disabled] { background:#9aa5b1; }
.center { text-align:center; padding:2.5em 1em; }
.center .big { font-size:2.2em; }
.note { color:var(--muted); margin-top:.6em; text-align:center; }
#notice { min-height:1.5em; color:var(--accent); text-align:center; margin-top:.8em; }
</style>
</head>
<body data-state="offline">
<header><span class="hall" id="hall-name">政务服务大厅</span><span class="win" id="window-name"></span></header>
<main>
  <div id="staff">
    <img id="staff-photo" alt="" hidden>
    <div class="who"><span id="staff-name">—</span><span id="staff-title"></span><span id="staff-id"></span></div>
  </div>
  <section id="idle"><div class="card center"><div class="big">欢迎您！</div><div class="note">办理结束后，请您对本次服务进行评价</div></div></section>
  <section id="paused"><div class="card center"><div class="big">暂停服务</div><div class="note">本窗口暂停服务，请稍候或前往其他窗口办理</div></div></section>
  <section id="prompt"><div class="card">
    <div class="big">请您对本次服务进行评价</div>
    <div class="line"><span>办理事项：<b id="matter-name"></b></span><span>办件编号：<b id="case-id"></b></span><span>剩余 <b id="countdown"></b> 秒</span></div>
    <div class="levels" id="levels"></div>
  </div></section>
  <section id="reason"><div class="card">
    <div class="big" id="reason-title">请选择不满意的原因</div>
    <div class="reasons" id="reasons"></div>
    <div class="text"><input id="reason-text" maxlength="200" placeholder="也可以写下您的意见（选填）"><button data-submit-text>提交</button></div>
  </div></section>
  <section id="dimensions"><div class="card">
    <div class="big">请对以下方面进行评价</div>
    <div id="dims"></div>
    <button data-submit disabled>提交评价</button>
  </div></section>
  <section id="sending"><div class="card center"><div class="big">正在提交…</div><div class="note">请稍候</div></div></section>
  <section id="thanks"><div class="card center"><div class="big">感谢您的评价！</div><div class="note">祝您生活愉快</div></div></section>
  <section id="offline"><div class="card center"><div class="big">正在连接…</div><div class="note" id="offline-note">评价器与服务器的连接已断开，正在自动重连</div></div></section>
  <div id="notice"></div>
</main>
<script>
"use strict";
(function () {
  var params = new URLSearchParams(location.search);
  var windowID = decodeURIComponent(location.pathname.split("/")[2] || "");
  // The pad's secret: a pad:WINDOW token in the address, or the one a pairing gave this
  // tablet, kept in localStorage (issue 20). A pairing code is traded once and removed from
  // the address bar.
  var storeKey = "evaluatord.pad." + windowID;
  var token = params.get("token") || "";
  var pairCode = params.get("pair");
  if (!token) { try { token = localStorage.getItem(storeKey) || ""; } catch (e) { token = ""; } }
  var levelText = { very_satisfied: "非常满意", satisfied: "满意", basic: "基本满意", dissatisfied: "不满意", very_dissatisfied: "非常不满意" };
  var ws = null, retry = 1000, replaced = false;
  var serverView = null;   // the last state or prompt the gateway sent
  var prompt = null;       // the prompt being answered
  var choice = null;       // {level, reason, reason_text, dimensions}
  var pending = null;      // a rate sent and not yet acked: re-sent after a reconnect
  var thanksUntil = 0, deadline = 0, ticker = null, thanksTimer = null;
  var $ = function (id) { return document.getElementById(id); };

  function setState(s) { document.body.setAttribute("data-state", s); }
  function notice(t) { $("notice").textContent = t || ""; }
  function send(obj) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); }

  function showStaff(staff, win) {
    if (win) { $("window-name").textContent = win.name + "（" + win.department + "）"; }
    $("staff-name").textContent = staff ? staff.name : "—";
    $("staff-title").textContent = staff && staff.title ? staff.title : "";
    $("staff-id").textContent = staff ? "工号 " + staff.staff_id : "";
    var img = $("staff-photo");
    if (staff && staff.photo_url) { img.src = staff.photo_url + "?token=" + encodeURIComponent(token); img.hidden = false; }
    else { img.hidden = true; img.removeAttribute("src"); }
  }

  function tick() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    $("countdown").textContent = String(left);
  }

  function button(text, attrs, onClick) {
    var b = document.createElement("button");
    b.textContent = text;
    for (var k in attrs) b.setAttribute(k, attrs[k]);
    b.addEventListener("click", onClick);
    return b;
  }

  function renderPrompt(p) {
    prompt = p; choice = null; notice("");
    showStaff(p.staff, p.window);
    $("matter-name").textContent = p.matter_name || "—";
    $("case-id").textContent = p.case_id_masked;
    deadline = Date.now() + p.expires_in_ms; tick();
    if (ticker) clearInterval(ticker);
    ticker = setInterval(tick, 1000);
    var box = $("levels"); box.innerHTML = "";
    p.levels.forEach(function (l) { box.appendChild(button(l.text, { "data-level": l.level }, function () { chooseLevel(l.level); })); });
    setState("prompt");
  }

  function chooseLevel(level) {
    if (!prompt || pending || document.body.getAttribute("data-state") !== "prompt") return;
    choice = { level: level };
    if (level === "dissatisfied" || level === "very_dissatisfied") {
      var box = $("reasons"); box.innerHTML = "";
      $("reason-title").textContent = "请选择" + levelText[level] + "的原因";
      (prompt.reasons[level] || []).forEach(function (r) {
        box.appendChild(button(r.text, { "data-reason": r.code }, function () { choice.reason = r.code; afterReason(); }));
      });
      $("reason-text").value = "";
      setState("reason");
    } else {
      afterReason();
    }
  }

  function afterReason() {
    if (document.body.getAttribute("data-state") !== "prompt" && document.body.getAttribute("data-state") !== "reason") return;
    if (prompt.dimensions && prompt.dimensions.length) { renderDimensions(); } else { submit(); }
  }

  function renderDimensions() {
    choice.dimensions = {};
    var box = $("dims"); box.innerHTML = "";
    prompt.dimensions.forEach(function (d) {
      var row = document.createElement("div"); row.className = "dim";
      var name = document.createElement("div"); name.className = "name"; name.textContent = d.text; row.appendChild(name);
      var grid = document.createElement("div"); grid.className = "row";
      prompt.levels.forEach(function (l) {
        grid.appendChild(button(l.text, { "data-dimension": d.id, "data-level": l.level }, function (ev) {
          choice.dimensions[d.id] = l.level;
          grid.querySelectorAll("button").forEach(function (x) { x.classList.remove("chosen"); });
          ev.currentTarget.classList.add("chosen");
          document.querySelector("#dimensions [data-submit]").disabled = Object.keys(choice.dimensions).length < prompt.dimensions.length;
        }));
      });
      row.appendChild(grid); box.appendChild(row);
    });
    document.querySelector("#dimensions [data-submit]").disabled = true;
    setState("dimensions");
  }

  function submit() {
    if (!prompt || pending) return;
    pending = { type: "rate", session_id: prompt.session_id, level: choice.level };
    if (choice.reason) pending.reason = choice.reason;
    if (choice.reason_text) pending.reason_text = choice.reason_text;
    if (choice.dimensions) pending.dimensions = choice.dimensions;
    setState("sending");
    send(pending);
  }

  function showServerView() {
    if (!serverView) return;
    if (serverView.type === "prompt") { renderPrompt(serverView); return; }
    prompt = null;
    if (ticker) { clearInterval(ticker); ticker = null; }
    showStaff(serverView.staff, serverView.window);
    setState(serverView.state === "paused" ? "paused" : "idle");
  }

  function onMessage(m) {
    switch (m.type) {
      case "ping": send({ type: "pong" }); return;
      case "replaced": replaced = true; return;
      case "state":
      case "prompt":
        serverView = m;
        var s = document.body.getAttribute("data-state");
        if (pending) {
          // Waiting for the ack: the rating's own commit may refresh the screen first.
          if (m.type === "prompt" && m.session_id !== pending.session_id) { /* a new case; shown after the ack */ }
          return;
        }
        if (s === "thanks" && m.type !== "prompt") return;
        if (m.type === "prompt" && prompt && prompt.session_id === m.session_id && (s === "reason" || s === "dimensions")) {
          deadline = Date.now() + m.expires_in_ms; return; // same evaluation: keep the citizen's choice
        }
        if (thanksTimer) { clearTimeout(thanksTimer); thanksTimer = null; }
        showServerView();
        return;
      case "ack":
        if (!pending || m.session_id !== pending.session_id) return;
        pending = null; prompt = null;
        if (ticker) { clearInterval(ticker); ticker = null; }
        setState("thanks");
        thanksTimer = setTimeout(function () { thanksTimer = null; if (!pending) showServerView(); }, 4000);
        return;
      case "refused":
        if (!pending || (m.session_id && m.session_id !== pending.session_id)) { notice(m.message); return; }
        if (m.code === "unavailable") { setTimeout(function () { if (pending) send(pending); }, 2000); return; }
        pending = null; prompt = null;
        notice(m.code === "expired" ? "评价时间已过，本次评价未提交" : m.code === "already_rated" ? "本次服务已评价" : "评价未能提交：" + m.message);
        showServerView();
        return;
    }
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/pads/" + encodeURIComponent(windowID) + "/ws?token=" + encodeURIComponent(token);
    ws = new WebSocket(url);
    ws.onopen = function () {
      retry = 1000; notice("");
      if (pending) { setState("sending"); send(pending); }
    };
    ws.onmessage = function (ev) { var m; try { m = JSON.parse(ev.data); } catch (e) { return; } onMessage(m); };
    ws.onclose = function () {
      ws = null;
      if (ticker) { clearInterval(ticker); ticker = null; }
      setState("offline");
      if (replaced) { $("offline-note").textContent = "此评价页面已在其他设备上打开；如需在本机使用，请刷新页面"; return; }
      setTimeout(connect, retry); retry = Math.min(retry * 2, 10000);
    };
  }

  function pair(code) {
    history.replaceState(null, "", location.pathname);
    setState("offline");
    $("offline-note").textContent = "正在配对…";
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/pad/" + encodeURIComponent(windowID) + "/pair");
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.onload = function () {
      var body = null; try { body = JSON.parse(xhr.responseText); } catch (e) {}
      if (xhr.status === 200 && body && body.secret) {
        token = body.secret;
        try { localStorage.setItem(storeKey, token); } catch (e) {}
        connect();
      } else {
        $("offline-note").textContent = "配对失败：" + (body && body.error ? body.error.message : "HTTP " + xhr.status) + "。请联系管理员重新运行 evaluatorctl pair " + windowID;
      }
    };
    xhr.onerror = function () { $("offline-note").textContent = "配对失败：无法连接服务器，请刷新页面重试"; };
    xhr.send(JSON.stringify({ code: pairCode }));
  }

  document.querySelector("[data-submit-text]").addEventListener("click", function () {
    var t = $("reason-text").value.trim();
    if (!choice || !t) return;
    choice.reason_text = t; afterReason();
  });
  document.querySelector("#dimensions [data-submit]").addEventListener("click", function () { submit(); });
  if (pairCode) pair(pairCode);
  else if (!token) { setState("offline"); $("offline-note").textContent = "此平板尚未配对：请管理员运行 evaluatorctl pair " + windowID; }
  else connect();
})();
</script>
</body>
</html>
"""##
}
