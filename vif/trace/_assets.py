"""The timeline page's CSS and JavaScript, inlined into every HTML file.

Owns the drawing: one canvas, virtual lanes (only visible lanes are drawn, so
100k tasks stay fast), a time axis, zoom (ctrl/pinch + wheel, W/S, buttons,
double-click), pan (drag, shift + wheel, A/D), details on hover, and
parent -> child links. Nothing is fetched. The page reports script errors into
``#errors`` and sets ``data-lanes`` / ``data-rendered`` on ``<body>`` after the
first draw, which is what the browser test reads.
"""

CSS = r"""
html, body { margin: 0; padding: 0; height: 100%; overflow: hidden;
  font: 12px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
#head { padding: 6px 10px; border-bottom: 1px solid #ccc; background: #fafafa; }
#head h1 { font-size: 14px; margin: 0 12px 0 0; display: inline; }
#head .stats { color: #555; }
#head button { font: inherit; margin-left: 4px; padding: 1px 8px; }
#legend { margin-top: 4px; color: #444; }
#legend span.sw { display: inline-block; width: 14px; height: 10px; margin: 0 4px 0 10px;
  vertical-align: -1px; border: 1px solid rgba(0,0,0,.15); }
#view { position: relative; }
canvas { display: block; cursor: grab; }
canvas.drag { cursor: grabbing; }
#tip { position: fixed; pointer-events: none; display: none; max-width: 520px; z-index: 2;
  background: #fffff4; border: 1px solid #999; padding: 5px 8px; border-radius: 3px;
  box-shadow: 0 2px 6px rgba(0,0,0,.2); white-space: pre-wrap; font-size: 12px; }
#errors { display: none; color: #b00; }
#help { color: #777; margin-left: 10px; }
"""

ERROR_TRAP = r"""
window.__traceErrors = [];
(function () {
  function note(msg) {
    window.__traceErrors.push(String(msg));
    var box = document.getElementById("errors");
    if (box) { box.style.display = "block"; box.textContent = window.__traceErrors.join("\n"); }
  }
  window.addEventListener("error", function (e) {
    note("error: " + e.message + " at " + (e.filename || "") + ":" + (e.lineno || ""));
  });
  window.addEventListener("unhandledrejection", function (e) { note("rejection: " + e.reason); });
  var origError = console.error;
  console.error = function () {
    note("console.error: " + Array.prototype.join.call(arguments, " "));
    return origError.apply(console, arguments);
  };
})();
"""

JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var LABEL_W = 280, AXIS_H = 26, LANE_H = 22, BAR_H = 14, INDENT = 10;
  var COLORS = {
    run: "#1f8a70", sched: "#ececec", sleep: "#bcd8f2", task: "#d9c6f0", io: "#f6dc9a",
    sync: "#f4c2d2", thread: "#c9e6c1", other: "#dcdcdc", idle: "#e3ece3", slow: "#d62828",
    done: "#1f8a70", failed: "#d62828", cancelled: "#e08a00", link: "rgba(90,60,160,.55)"
  };
  var KIND_NAMES = { sleep: "sleep", task: "task / gather", io: "socket / file",
    sync: "lock / queue / event", thread: "thread", other: "future / other" };

  var tasks = data.tasks, strings = data.strings;
  var IO_RE = /sock_|Stream(Reader|Writer)|^vif[ .]|read|write|recv|send|connect|accept/;
  var kinds = strings.map(function (s) {
    if (s.indexOf("asyncio.sleep") === 0) return "sleep";
    if (s.indexOf("task ") === 0 || s.indexOf("gather(") === 0 ||
        s.indexOf("asyncio.wait") === 0) return "task";
    if (s.indexOf("a thread") === 0 || s.indexOf("to_thread") >= 0 ||
        s.indexOf("run_in_executor") >= 0) return "thread";
    if (IO_RE.test(s)) return "io";
    if (/Queue\.|Lock\.|Event\.|Condition\.|Semaphore\.|Barrier\./.test(s)) return "sync";
    return "other";
  });

  // Lane order: the task tree, depth first, children by creation time.
  var children = tasks.map(function () { return []; });
  var roots = [];
  tasks.forEach(function (t, i) { if (t.p >= 0 &&
      t.p < tasks.length) children[t.p].push(i); else roots.push(i); });
  var byCreated = function (a, b) { return tasks[a].c - tasks[b].c || a - b; };
  roots.sort(byCreated);
  var order = [], depth = new Int32Array(tasks.length), laneOf = new Int32Array(tasks.length);
  var stack = roots.slice().reverse();
  while (stack.length) {
    var i = stack.pop();
    laneOf[i] = order.length + 1;  // lane 0 is the loop
    order.push(i);
    var ch = children[i].sort(byCreated);
    for (var j = ch.length - 1; j >= 0; j--) { depth[ch[j]] = depth[i] + 1; stack.push(ch[j]); }
  }
  var nLanes = order.length + 1;
  var endMs = Math.max(data.end, 0.001);

  var canvas = document.getElementById("canvas"), ctx = canvas.getContext("2d");
  var tip = document.getElementById("tip"), head = document.getElementById("head");
  var W = 0, H = 0, dpr = window.devicePixelRatio || 1;
  var view = { t0: 0, pxPerMs: 1, y: 0 };

  function fit() {
    var w = Math.max(W - LABEL_W - 20, 50);
    view.t0 = -endMs * 0.01;
    view.pxPerMs = w / (endMs * 1.02);
    draw();
  }
  function resize() {
    W = window.innerWidth;
    H = Math.max(window.innerHeight - head.offsetHeight, 100);
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.width = W + "px"; canvas.style.height = H + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  function xOf(t) { return LABEL_W + (t - view.t0) * view.pxPerMs; }
  function tOf(x) { return view.t0 + (x - LABEL_W) / view.pxPerMs; }
  function clampY() {
    var maxY = Math.max(0, nLanes * LANE_H - (H - AXIS_H) + LANE_H);
    view.y = Math.min(Math.max(view.y, 0), maxY);
  }
  function fmt(ms) {
    var a = Math.abs(ms);
    if (a === 0) return "0";
    if (a >= 1000) return (ms / 1000).toFixed(a >= 10000 ? 1 : 3).replace(/\.?0+$/, "") + " s";
    if (a >= 1) return ms.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2).replace(/\.0+$/, "") + " ms";
    return (ms * 1000).toFixed(0) + " \u00b5s";
  }
  function bar(x0, x1, y, h, color, minW) {
    var left = Math.max(x0, LABEL_W), right = Math.min(x1, W);
    if (right - left < minW) { if (x1 < LABEL_W || x0 > W) return; right = left + minW; }
    if (right <= left) return;
    ctx.fillStyle = color; ctx.fillRect(left, y, right - left, h);
  }

  function laneTask(lane) { return lane >= 1 && lane < nLanes ? order[lane - 1] : -1; }
  function drawTask(ti, y) {
    var t = tasks[ti], r = t.r, w = t.w, yb = y + (LANE_H - BAR_H) / 2;
    var tEnd = t.s !== "pending" && r.length ? r[r.length - 1] : endMs;
    var firstRun = r.length ? r[0] : tEnd;
    bar(xOf(t.c), xOf(firstRun), yb + BAR_H / 2 - 2, 4, COLORS.sched, 0);
    for (var k = 0; 2 * k + 1 < r.length; k++) {
      if (2 * k < w.length) {
        var ws = r[2 * k + 1], we = 2 * k + 2 < r.length ? r[2 * k + 2] : endMs;
        if (xOf(we) >= LABEL_W && xOf(ws) <= W) bar(xOf(ws), xOf(we), yb, BAR_H,
            COLORS[kinds[w[2 * k]]], 0);
      }
    }
    for (var k2 = 0; 2 * k2 + 1 < r.length; k2++) {
      var x0 = xOf(r[2 * k2]), x1 = xOf(r[2 * k2 + 1]);
      if (x1 >= LABEL_W - 2 && x0 <= W) bar(x0, x1, yb, BAR_H, COLORS.run, 1.5);
    }
    if (t.s !== "pending") {
      var xe = xOf(tEnd);
      if (xe >= LABEL_W && xe <= W) {
        ctx.fillStyle = t.s === "done" ? COLORS.done : t.s === "cancelled" ? COLORS.cancelled :
            COLORS.failed;
        ctx.beginPath(); ctx.moveTo(xe, yb - 1); ctx.lineTo(xe + 5, yb + BAR_H / 2);
        ctx.lineTo(xe, yb + BAR_H + 1); ctx.closePath(); ctx.fill();
      }
    }
  }
  function drawLoop(y) {
    var p = data.polls, yb = y + (LANE_H - BAR_H) / 2;
    for (var i = 0; i + 1 < p.length; i += 2) {
      var x0 = xOf(p[i]), x1 = xOf(p[i + 1]);
      if (x1 >= LABEL_W && x0 <= W) bar(x0, x1, yb, BAR_H, COLORS.idle, 0);
    }
    data.slow.forEach(function (s) {
      var x0 = xOf(s.s), x1 = xOf(s.e);
      if (x1 >= LABEL_W && x0 <= W) bar(x0, x1, yb, BAR_H, COLORS.slow, 2);
    });
  }
  function niceStep(ms) {
    var p = Math.pow(10, Math.floor(Math.log10(ms))), m = ms / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function drawAxis() {
    ctx.fillStyle = "#f6f6f6"; ctx.fillRect(0, 0, W, AXIS_H);
    ctx.strokeStyle = "#bbb"; ctx.beginPath(); ctx.moveTo(0, AXIS_H - 0.5);
    ctx.lineTo(W, AXIS_H - 0.5); ctx.stroke();
    var step = niceStep(90 / view.pxPerMs), first = Math.ceil(tOf(LABEL_W) / step) * step;
    ctx.fillStyle = "#444"; ctx.textBaseline = "middle"; ctx.font = "11px system-ui, sans-serif";
    for (var t = first; xOf(t) <= W; t += step) {
      var x = Math.round(xOf(t)) + 0.5;
      ctx.strokeStyle = "#eee"; ctx.beginPath(); ctx.moveTo(x, AXIS_H); ctx.lineTo(x, H);
      ctx.stroke();
      ctx.strokeStyle = "#999"; ctx.beginPath(); ctx.moveTo(x, AXIS_H - 6); ctx.lineTo(x, AXIS_H);
      ctx.stroke();
      ctx.fillText(fmt(Math.abs(t) < step / 1e6 ? 0 : t), x + 3, AXIS_H / 2);
    }
  }
  function drawLinks(first, last) {
    ctx.strokeStyle = COLORS.link; ctx.fillStyle = COLORS.link; ctx.lineWidth = 1;
    for (var lane = first; lane <= last; lane++) {
      var ti = laneTask(lane);
      if (ti < 0) continue;
      var t = tasks[ti];
      if (t.p < 0 || t.p >= tasks.length) continue;
      var x = Math.round(xOf(t.c)) + 0.5;
      if (x < LABEL_W || x > W) continue;
      var yp = AXIS_H + laneOf[t.p] * LANE_H - view.y + LANE_H / 2;
      var yc = AXIS_H + lane * LANE_H - view.y + (LANE_H - BAR_H) / 2;
      ctx.beginPath(); ctx.moveTo(x, Math.max(yp, AXIS_H)); ctx.lineTo(x, yc); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(x - 3, yc - 4); ctx.lineTo(x + 3, yc - 4); ctx.lineTo(x, yc);
      ctx.closePath(); ctx.fill();
    }
  }
  function draw() {
    clampY();
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    var first = Math.max(0, Math.floor(view.y / LANE_H));
    var last = Math.min(nLanes - 1, Math.floor((view.y + H - AXIS_H) / LANE_H));
    drawAxis();
    ctx.save();
    ctx.beginPath(); ctx.rect(0, AXIS_H, W, H - AXIS_H); ctx.clip();
    for (var lane = first; lane <= last; lane++) {
      var y = AXIS_H + lane * LANE_H - view.y;
      if (lane % 2) { ctx.fillStyle = "#fbfbfb"; ctx.fillRect(0, y, W, LANE_H); }
      if (lane === 0) drawLoop(y); else drawTask(laneTask(lane), y);
    }
    drawLinks(first, last);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, AXIS_H, LABEL_W - 4, H - AXIS_H);
    ctx.font = "12px system-ui, sans-serif"; ctx.textBaseline = "middle";
    for (var l2 = first; l2 <= last; l2++) {
      var yl = AXIS_H + l2 * LANE_H - view.y, text, ind = 0;
      if (l2 === 0) { text = "event loop (poll idle / blocked)"; ctx.fillStyle = "#555"; }
      else {
        var ti = laneTask(l2), t = tasks[ti];
        ind = Math.min(depth[ti], 12) * INDENT;
        text = t.n + "  " + t.l; ctx.fillStyle = "#222";
      }
      var maxW = LABEL_W - 12 - ind;
      if (ctx.measureText(text).width > maxW) {
        while (text.length > 1 && ctx.measureText(text +
            "\u2026").width > maxW) text = text.slice(0, -1);
        text += "\u2026";
      }
      ctx.fillText(text, 6 + ind, yl + LANE_H / 2);
    }
    ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(LABEL_W - 4.5, AXIS_H);
    ctx.lineTo(LABEL_W - 4.5, H); ctx.stroke();
    ctx.restore();
    ctx.fillStyle = "#f6f6f6"; ctx.fillRect(0, 0, LABEL_W - 4, AXIS_H);
    ctx.fillStyle = "#444"; ctx.fillText(nLanes - 1 + " tasks", 6, AXIS_H / 2);
    document.body.setAttribute("data-lanes", String(nLanes - 1));
    document.body.setAttribute("data-rendered", "1");
  }

  function hit(x, y) {
    if (y < AXIS_H) return null;
    var lane = Math.floor((y - AXIS_H + view.y) / LANE_H);
    if (lane < 0 || lane >= nLanes) return null;
    var t = tOf(x), slop = 3 / view.pxPerMs;
    if (lane === 0) {
      for (var i = 0; i < data.slow.length; i++) {
        var s = data.slow[i];
        if (t >= s.s - slop && t <= s.e + slop)
          return "the loop was blocked " + fmt(s.e - s.s) + (s.b ? " in " + s.b + "\n  (" + s.d +
              ")" : " in " + s.d) +
            "\nfrom " + fmt(s.s) + " to " + fmt(s.e);
      }
      var p = data.polls;
      for (var k = 0; k + 1 < p.length; k += 2)
        if (t >= p[k] && t <= p[k + 1]) return "loop idle in the poll for " + fmt(p[k + 1] - p[k]) +
            "\nfrom " + fmt(p[k]);
      return "event loop\nran callbacks " + fmt(data.stats.callbackMs) + " (" +
          data.stats.callbacks +
        " callbacks), idle in the poll " + fmt(data.stats.pollMs);
    }
    var ti = laneTask(lane), tk = tasks[ti], r = tk.r, w = tk.w;
    var head = tk.n + "  " + tk.l + "\n" + (tk.p >= 0 ? "created by " + tasks[tk.p].n + " " +
        tasks[tk.p].l + " at " + fmt(tk.c) : "created at " + fmt(tk.c)) +
      "\nstate: " + tk.s;
    var line = "";
    for (var q = 0; 2 * q + 1 < r.length; q++) {
      if (t >= r[2 * q] - slop && t <= r[2 * q + 1] + slop) {
        line = "running step " + (q + 1) + " for " + fmt(r[2 * q + 1] - r[2 * q]) + " at " +
            fmt(r[2 * q]);
        break;
      }
      var ws = r[2 * q + 1], we = 2 * q + 2 < r.length ? r[2 * q + 2] : endMs;
      if (2 * q < w.length && t >= ws && t <= we) {
        line = "waiting " + fmt(we - ws) + " on " + strings[w[2 * q]] +
          (strings[w[2 * q + 1]] ? "\n  awaited at " + strings[w[2 * q + 1]] : "") +
          "\n  from " + fmt(ws) + " to " + fmt(we);
        var links = tk.k && tk.k[q];
        if (links) line += "\n  on: " + links.slice(0, 8).map(function (i) { return tasks[i].n +
            " " + tasks[i].l; }).join(", ") + (links.length > 8 ? ", \u2026" : "");
        break;
      }
    }
    if (!line && r.length && t >= tk.c && t < r[0]) line = "created, waiting for its first step (" +
        fmt(r[0] - tk.c) + ")";
    if (!line && !r.length && t >= tk.c) line = "created, never started";
    return head + (line ? "\n\n" + line : "");
  }

  // -- interaction ---------------------------------------------------------------
  function zoomAt(x, factor) {
    var t = tOf(Math.max(x, LABEL_W));
    view.pxPerMs = Math.min(Math.max(view.pxPerMs * factor, 1e-6), 1e7);
    view.t0 = t - (Math.max(x, LABEL_W) - LABEL_W) / view.pxPerMs;
    draw();
  }
  var drag = null;
  canvas.addEventListener("mousedown", function (e) { drag = { x: e.clientX, y: e.clientY,
      t0: view.t0, vy: view.y }; canvas.classList.add("drag"); tip.style.display = "none"; });
  window.addEventListener("mouseup", function () { drag = null; canvas.classList.remove("drag"); });
  canvas.addEventListener("mousemove", function (e) {
    var rect = canvas.getBoundingClientRect(), x = e.clientX - rect.left, y = e.clientY - rect.top;
    if (drag) {
      view.t0 = drag.t0 - (e.clientX - drag.x) / view.pxPerMs;
      view.y = drag.vy - (e.clientY - drag.y);
      draw(); return;
    }
    var text = hit(x, y);
    if (!text) { tip.style.display = "none"; return; }
    tip.textContent = text; tip.style.display = "block";
    var tx = e.clientX + 14, ty = e.clientY + 14;
    if (tx + tip.offsetWidth > window.innerWidth) tx = Math.max(0,
        e.clientX - tip.offsetWidth - 10);
    if (ty + tip.offsetHeight > window.innerHeight) ty = Math.max(0,
        e.clientY - tip.offsetHeight - 10);
    tip.style.left = tx + "px"; tip.style.top = ty + "px";
  });
  canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var rect = canvas.getBoundingClientRect(), x = e.clientX - rect.left;
    if (e.ctrlKey || e.metaKey) zoomAt(x, Math.exp(-e.deltaY * 0.01));
    else if (e.shiftKey) { view.t0 += e.deltaY / view.pxPerMs; draw(); }
    else { view.t0 += e.deltaX / view.pxPerMs; view.y += e.deltaY; draw(); }
  }, { passive: false });
  canvas.addEventListener("dblclick", function (e) {
      zoomAt(e.clientX - canvas.getBoundingClientRect().left, e.shiftKey ? 0.5 : 2); });
  window.addEventListener("keydown", function (e) {
    var mid = LABEL_W + (W - LABEL_W) / 2, k = e.key.toLowerCase();
    if (k === "w" || k === "+" || k === "=") zoomAt(mid, 1.25);
    else if (k === "s" || k === "-") zoomAt(mid, 0.8);
    else if (k === "a") { view.t0 -= 80 / view.pxPerMs; draw(); }
    else if (k === "d") { view.t0 += 80 / view.pxPerMs; draw(); }
    else if (k === "0" || k === "f") fit();
  });
  document.getElementById("zin").onclick = function () { zoomAt(LABEL_W + (W - LABEL_W) / 2,
      1.5); };
  document.getElementById("zout").onclick = function () { zoomAt(LABEL_W + (W - LABEL_W) / 2,
      1 / 1.5); };
  document.getElementById("zfit").onclick = fit;
  window.addEventListener("resize", function () { resize(); draw(); });

  var legend = document.getElementById("legend");
  function sw(color, label) {
    var s = document.createElement("span"); s.className = "sw"; s.style.background = color;
    legend.appendChild(s); legend.appendChild(document.createTextNode(label));
  }
  sw(COLORS.run, "running");
  Object.keys(KIND_NAMES).forEach(function (k) { sw(COLORS[k], "waiting: " + KIND_NAMES[k]); });
  sw(COLORS.idle, "loop idle"); sw(COLORS.slow, "loop blocked \u2265 " + fmt(data.slowMs));
  document.getElementById("stats").textContent = fmt(endMs) + ", " + tasks.length + " tasks, " +
    data.stats.callbacks + " callbacks; loop busy " + fmt(data.stats.callbackMs) + ", idle " +
        fmt(data.stats.pollMs);

  resize();
  fit();

  // "#selftest": drive the page with synthetic events and write what happened into
  // #selftest, so a headless browser test can check hover, zoom and pan.
  if (location.hash === "#selftest") {
    var out = [], rect = canvas.getBoundingClientRect();
    function at(lane, ms) {
      return { clientX: rect.left + xOf(ms), clientY: rect.top + AXIS_H + lane * LANE_H - view.y +
          LANE_H / 2, bubbles: true };
    }
    for (var lane = 1; lane < Math.min(nLanes, 6); lane++) {
      var tk = tasks[laneTask(lane)], r = tk.r;
      var mid = r.length >= 3 ? (r[1] + r[2]) / 2 : (r.length ? r[0] : tk.c);
      canvas.dispatchEvent(new MouseEvent("mousemove", at(lane, mid)));
      out.push("hover " + lane + ": " + (tip.style.display === "block" ?
          tip.textContent.replace(/\n/g, " | ") : "(none)"));
    }
    var before = view.pxPerMs;
    canvas.dispatchEvent(new WheelEvent("wheel", { clientX: rect.left + LABEL_W + 100,
        clientY: rect.top + 60, deltaY: -100, ctrlKey: true, bubbles: true, cancelable: true }));
    out.push("zoomed in: " + (view.pxPerMs > before));
    var t0 = view.t0;
    canvas.dispatchEvent(new MouseEvent("mousedown", { clientX: rect.left + 600, clientY: rect.top +
        60, bubbles: true }));
    canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: rect.left + 500, clientY: rect.top +
        60, bubbles: true }));
    window.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
    out.push("panned: " + (view.t0 > t0));
    window.dispatchEvent(new KeyboardEvent("keydown", { key: "f" }));
    out.push("fit again: " + (Math.abs(view.pxPerMs - before) < 1e-9));
    var box = document.createElement("pre"); box.id = "selftest"; box.textContent = out.join("\n");
    document.body.appendChild(box);
  }
})();
"""
