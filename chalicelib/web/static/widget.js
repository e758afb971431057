/*! surveys widget 1.2.0 | one <script async> tag, no dependencies | see docs/customer.md */
(function () {
  "use strict";
  var VERSION = "1.2.0", P = "svw:", d = document, w = window, s = d.currentScript;
  if (!s || !s.dataset || !d.createElement("div").attachShadow) return;
  var o = s.dataset, key = o.siteKey, metric = o.metric, tp = o.touchpoint || null;
  var api = s.src.replace(/\/widget\.js(\?.*)?$/, "");
  var T = {
    vi: {
      nps: "Bạn có sẵn lòng giới thiệu {n} cho bạn bè không?", csat: "Bạn hài lòng thế nào với {n}?",
      ces: "Bạn có dễ dàng nhận được điều mình cần ở {n} không?", lo: "Không chắc chắn", hi: "Chắc chắn",
      csatL: ["Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"],
      cesL: ["Rất khó", "Khó", "Hơi khó", "Bình thường", "Hơi dễ", "Dễ", "Rất dễ"],
      score: "Điểm", why: "Điều gì nổi bật?", send: "Gửi", thanks: "Cảm ơn bạn!", later: "Cảm ơn! Đánh giá sẽ được gửi khi có mạng.", close: "Đóng"
    },
    en: {
      nps: "How likely are you to recommend {n} to a friend?", csat: "How satisfied were you with {n}?",
      ces: "How easy was it to get what you needed at {n}?", lo: "Not at all likely", hi: "Extremely likely",
      csatL: ["Very unsatisfied", "Unsatisfied", "Neutral", "Satisfied", "Very satisfied"],
      cesL: ["Very difficult", "Difficult", "Somewhat difficult", "Neutral", "Somewhat easy", "Easy", "Very easy"],
      score: "Score", why: "What stood out?", send: "Send", thanks: "Thank you!", later: "Thank you! Your answer will be sent when you are back online.",
      close: "Close"
    }
  };
  var RANGE = { nps: [0, 10], csat: [1, 5], ces: [1, 7] }, SAD = { nps: 6, csat: 2, ces: 3 }, got;
  var warned = false;
  function warn(msg) { if (!warned && w.console) { warned = true; console.warn("surveys widget: " + msg); } }
  function get(k) { try { return w.localStorage.getItem(P + k); } catch (e) { return null; } }
  function put(k, v) { try { w.localStorage.setItem(P + k, v); } catch (e) { /* storage off: no memory */ } }

  // ---- sending (errors carry CORS headers): 429 or 5xx is sent again after Retry-After, TRIES times here,
  // then on later page loads; another 4xx is dropped; only a rejected fetch (offline) waits for `online`.
  var TRIES = 3, MAX_TRIES = 6, QUEUE_DAYS = 7, timer = 0;
  function send(body, path) {
    return fetch(api + "/v1/responses" + (path || ""), {
      method: "POST", body: body, keepalive: true, credentials: "omit",
      headers: { "Content-Type": "text/plain" } // a "simple" request: no CORS preflight
    }).then(function (r) {
      if (r.ok) return r.json().then(function (j) { got = j; return 0; }, function () { return 0; });
      if (r.status === 429 || r.status >= 500) return Math.min(Math.max(+r.headers.get("Retry-After") || 3, 1), 120);
      warn("the answer was refused (" + r.status + ")");
      return 0;
    });
  }
  function queue() { try { return JSON.parse(get("q") || "[]"); } catch (e) { return []; } }
  function save(q) { put("q", JSON.stringify(q.slice(-20))); }
  // k: the page view, whose later tap replaces its queued one
  function enqueue(body, k, n) { var q = unqueue(k); q.push({ b: body, t: Date.now(), n: n, k: k }); save(q); }
  function unqueue(k) {
    var q = queue().filter(function (x) { return !k || x.k !== k; }); save(q); return q;
  }
  function retry(sec) { clearTimeout(timer); timer = setTimeout(flush, sec * 1e3); }
  var flushing = false;
  function flush() {
    if (flushing || !navigator.onLine) return;
    var q = queue();
    if (!q.length) return;
    // never resent forever
    q = q.filter(function (x) { return Date.now() - x.t < QUEUE_DAYS * 864e5 && (x.n || 0) < MAX_TRIES; });
    flushing = true; put("q", "[]");
    var i = 0, end = function (left) { flushing = false; save(left.concat(queue())); };
    (function next() {
      if (i >= q.length) return end([]);
      var item = q[i++], stop = function () { item.n = (item.n || 0) + 1; end(q.slice(i - 1)); };
      send(item.b).then(function (wait) {
        if (!wait) return next();
        stop(); // busy: the rest wait too
        if (item.n < TRIES) retry(wait);
      }, stop);
    })();
  }
  w.addEventListener("online", flush);

  // ---- start: may this page ask?
  if (!key || !RANGE[metric]) { warn("data-site-key and data-metric (nps, csat or ces) are required"); return; }
  var hideKey = "h:" + key + ":" + (tp || metric);
  flush();
  if (+get(hideKey) > Date.now()) return;
  var q = "?metric=" + metric + (tp ? "&touchpoint_id=" + encodeURIComponent(tp) : "");
  // a single-use nonce: never cached
  fetch(api + "/v1/sites/" + encodeURIComponent(key) + q, { credentials: "omit", cache: "no-store" })
    .then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || r.status);
        return j;
      });
    }, function () { // an unknown key or origin gets no CORS headers
      throw new Error("no answer readable here; check data-site-key, allowed_origins and the network");
    })
    .then(function (cfg) {
      if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", function () { render(cfg); });
      else render(cfg);
    }, function (e) { warn("not shown: " + (e && e.message || e)); });

  function id() {
    var v = get("id");
    if (!v) {
      var a = new Uint8Array(16); w.crypto.getRandomValues(a);
      v = Array.prototype.map.call(a, function (x) { return (x & 63).toString(36); }).join("").slice(0, 24);
      put("id", v);
    }
    return v;
  }

  function render(cfg) {
    var loc = o.locale || cfg.locale || "vi";
    var t = T[loc] || T.vi, target = o.target ? d.querySelector(o.target) : null;
    if (o.target && !target) { warn("no element matches data-target " + o.target); return; }
    var host = d.createElement("div"), pos = target ? "" : (o.position || "bottom-right");
    if (!/^(top|bottom)-(left|right)$/.test(pos) && pos) pos = "bottom-right";
    host.setAttribute("data-surveys-widget", VERSION);
    if (pos) host.className = "svw-" + pos;
    var root = host.attachShadow({ mode: "open" });
    var lo = RANGE[metric][0], hi = RANGE[metric][1], labels = t[metric + "L"];
    var fixed = pos ? "position:fixed!important;z-index:2147483000!important;" +
      pos.replace(/(top|bottom)-(left|right)/, "$1:16px!important;$2:16px!important;") +
      "max-width:calc(100vw - 32px)!important;width:340px!important;" : "";
    var css = ":host{all:initial!important;display:block!important;visibility:visible!important;" +
      "opacity:1!important;transform:none!important;" + fixed + "}" +
      "*{box-sizing:border-box;margin:0}" +
      ".w{font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#111;background:#fff;" +
      "border:1px solid #8a8f98;border-radius:12px;padding:14px;position:relative;text-align:left}" +
      (pos ? ".w{box-shadow:0 4px 18px rgba(0,0,0,.18)}" : "") +
      "p{margin:0 28px 10px 0;font-weight:600}.b{display:flex;flex-wrap:wrap;gap:4px}" +
      "button{min-height:44px;font:inherit;color:#111;background:#fff;border:2px solid #1d3557;" +
      "border-radius:8px;cursor:pointer;padding:0 12px}.b button{flex:1 0 40px;min-width:44px;font-weight:600;" +
      "padding:0}.b button:hover{background:#e8eef7}button[aria-pressed=true],.k{background:#1d3557;color:#fff}" +
      ".c button{margin:0 6px 6px 0;border-radius:22px}" +
      "button:focus-visible{outline:3px solid #b35900;outline-offset:2px}" +
      ".e{display:flex;justify-content:space-between;font-size:13px;color:#333;margin-top:6px}" +
      ".x{position:absolute;top:4px;right:4px;width:44px;height:44px;border:0;background:none;" +
      "font:22px/1 system-ui,sans-serif;color:#333;cursor:pointer}" +
      ".s{margin:10px 0 0}.s:empty{display:none}" +
      ".h{position:absolute;left:-9999px;width:1px;height:1px;opacity:0}";
    var box = "<style>" + css + "</style><div class=w role=region aria-label='" + esc(t.score) + "'>" +
      (pos ? "<button class=x type=button aria-label='" + esc(t.close) + "'>×</button>" : "") +
      "<p id=q>" + esc(t[metric].replace("{n}", cfg.business_name)) + "</p><div class=b role=group aria-labelledby=q>";
    for (var n = lo; n <= hi; n++) {
      var name = n + (labels ? " – " + labels[n - 1] : n === lo ? " – " + t.lo : n === hi ? " – " + t.hi : "");
      box += "<button type=button value=" + n + " aria-pressed=false aria-label='" + esc(name) +
        "' title='" + esc(name) + "'>" + n + "</button>";
    }
    box += "</div><div class=e aria-hidden=true><span>" + esc(labels ? labels[0] : t.lo) + "</span><span>" +
      esc(labels ? labels[hi - lo] : t.hi) + "</span></div><div class=c role=group aria-label='" + esc(t.why) +
      "'></div><p class=s role=status></p></div>";
    box += "<input class=h name=website tabindex=-1 autocomplete=off aria-hidden=true>";
    root.innerHTML = box;
    (target || d.body).appendChild(host);
    var shown = Date.now(), gone = 0, status = root.querySelector(".s"), nonce = cfg.nonce, c = root.querySelector(".c"), ans,
      view = Math.random().toString(36).slice(2), chain = Promise.resolve(), taps = 0; // this page view
    var close = root.querySelector(".x");
    function done(msg) { // floating: gone once nothing is left to tap
      status.textContent = msg;
      if (pos && !c.firstChild) { clearTimeout(gone); gone = setTimeout(function () { host.remove(); }, 6000); }
    }
    if (close) close.onclick = function () { hide(o.dismissDays || 7); host.remove(); };
    // A re-tap keeps the nonce: the API edits that answer.
    root.querySelector(".b").onclick = function (ev) {
      var b = ev.target.closest("button");
      if (!b) return;
      var body = { site_key: key, metric: metric, score: +b.value, locale: loc, respondent_id: id(),
        elapsed_ms: Date.now() - shown };
      var trap = root.querySelector(".h").value; // the honeypot: invisible, so only a bot fills it
      if (trap) body.website = trap;
      if (tp) body.touchpoint_id = tp;
      if (nonce) body.nonce = nonce;
      body = JSON.stringify(body);
      [].forEach.call(root.querySelectorAll(".b button"), function (x) { x.setAttribute("aria-pressed", x === b); });
      // this mood's chips, sent later with the edit token
      var ch = (cfg.reasons || {})[+b.value > SAD[metric] ? "happy" : "unhappy"] || [];
      ans = 0;
      c.innerHTML = ch.length ? "<p>" + esc(t.why) + "</p>" + ch.map(function (x) {
        return "<button type=button aria-pressed=false value='" + esc(x.key) + "'>" + esc(x.label) + "</button>";
      }).join("") + "<button type=button class=k>" + esc(t.send) + "</button>" : "";
      hide(o.hideDays || 90);
      // Taps go one after another; the last wins.
      var me = ++taps;
      unqueue(view);
      if (!navigator.onLine) { enqueue(body, view, 0); done(t.later); return; }
      chain = chain.then(function () {
        if (me < taps) return;
        return send(body).then(function (wait) {
          if (me < taps) return;
          if (wait) { enqueue(body, view, 1); retry(wait); } else ans = got;
          done(t.thanks);
        }, function () { if (me === taps) { enqueue(body, view, 1); done(t.later); } });
      });
    };
    c.onclick = function (ev) {
      var x = ev.target.closest("button");
      if (!x) return;
      if (x.className !== "k") return x.setAttribute("aria-pressed", x.getAttribute("aria-pressed") !== "true");
      var r = [].map.call(c.querySelectorAll("[aria-pressed=true]"), function (y) { return y.value; });
      chain = chain.then(function () {
        if (ans) return send(JSON.stringify({ edit_token: ans.edit_token, reasons: r }),
          "/" + ans.response_id + "/comment")["catch"](function () { /* not queued */ });
      });
      c.innerHTML = "";
      done(t.thanks);
    };
  }
  function hide(days) { put(hideKey, String(Date.now() + days * 864e5)); }
  function esc(x) {
    return String(x).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }
})();
