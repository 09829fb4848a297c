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
