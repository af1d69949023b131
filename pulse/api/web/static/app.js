// Pulse Bridge dashboard: small progressive enhancements. Every page works without this file.
// Owns: keyboard navigation (/ focuses search, j/k move through table rows, Enter opens),
// clickable rows, copy buttons, confirm prompts, and the bounded live refresh of the Traces
// table and the session timeline (poll every 5 s, at most 10 minutes, paused in hidden tabs).
(function () {
  "use strict";
  const POLL_MS = 5000, MAX_POLLS = 120;

  function rows() { return Array.from(document.querySelectorAll("table[data-nav-table] tbody tr[data-href]")); }
  function select(delta) {
    const all = rows(); if (!all.length) return;
    let i = all.findIndex((r) => r.classList.contains("selected"));
    if (i >= 0) all[i].classList.remove("selected");
    i = Math.max(0, Math.min(all.length - 1, i < 0 ? 0 : i + delta));
    all[i].classList.add("selected");
    all[i].scrollIntoView({ block: "nearest" });
    const link = all[i].querySelector("a"); if (link) link.focus({ preventScroll: true });
  }
  document.addEventListener("keydown", (e) => {
    const t = e.target, typing = t.matches && t.matches("input, textarea, select");
    if (e.key === "Escape") {
      if (typing) t.blur();
      document.querySelectorAll("details.menu[open]").forEach((d) => d.removeAttribute("open"));
      return;
    }
    if (typing || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === "/") {
      const s = document.querySelector("[data-search]");
      if (s) { e.preventDefault(); s.focus(); s.select(); }
    } else if (e.key === "j") { select(1); } else if (e.key === "k") { select(-1); }
  });
  document.addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-href]");
    if (row && !e.target.closest("a, button, input, form")) { window.location.href = row.dataset.href; }
    const copy = e.target.closest("[data-copy]");
    if (copy) {
      const el = document.querySelector(copy.dataset.copy);
      if (el && navigator.clipboard) navigator.clipboard.writeText(el.textContent.trim()).then(() => { copy.textContent = "Copied"; });
    }
    document.querySelectorAll("details.menu[open]").forEach((d) => { if (!d.contains(e.target)) d.removeAttribute("open"); });
  });
  document.addEventListener("submit", (e) => {
    const msg = e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  // Analytics: picking a date switches the range to "custom".
  document.querySelectorAll("input[type=date]").forEach((el) => el.addEventListener("change", () => {
    const r = document.getElementById("a-range"); if (r) r.value = "custom";
  }));

  // the server's "num" filter (pulse/api/web/render.py fmt_num)
  function num(v) {
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + "k";
    return v.toLocaleString("en-US");
  }

  function poller(fn) {
    let n = 0, timer = null;
    const status = document.querySelector("[data-live-status]");
    const say = (s) => { if (status) status.textContent = s; };
    async function tick() {
      if (document.hidden) { timer = setTimeout(tick, POLL_MS); return; }
      if (++n > MAX_POLLS) { say("Live updates paused · reload to resume"); return; }
      try {
        const go = await fn();
        if (go === false) { say(""); return; }
        say("● Live");
      } catch (err) { say("Live updates stopped"); return; }
      timer = setTimeout(tick, POLL_MS);
    }
    say("● Live"); timer = setTimeout(tick, POLL_MS);
    return () => clearTimeout(timer);
  }

  const body = document.getElementById("trace-rows");
  if (body && body.dataset.liveUrl) {
    poller(async () => {
      const newest = body.dataset.newest || "";
      const url = body.dataset.liveUrl + (body.dataset.liveUrl.includes("?") ? "&" : "?") + "after=" + encodeURIComponent(newest);
      const r = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
      if (r.status === 401 || r.status === 404 || r.status === 403) return false;
      if (!r.ok) throw new Error(r.status);
      const tpl = document.createElement("template"); tpl.innerHTML = await r.text();
      const have = new Set(Array.from(body.querySelectorAll("tr[data-id]")).map((x) => x.dataset.id));
      const fresh = Array.from(tpl.content.querySelectorAll("tr[data-id]")).filter((x) => !have.has(x.dataset.id));
      if (fresh.length) {
        const empty = body.querySelector("tr.empty"); if (empty) empty.remove();
        fresh.reverse().forEach((x) => body.insertBefore(x, body.firstChild));
        body.dataset.newest = body.querySelector("tr[data-ts]").dataset.ts;
        const total = document.querySelector("[data-total]");
        if (total) { total.dataset.total = Number(total.dataset.total) + fresh.length; total.textContent = num(Number(total.dataset.total)); }
      }
      return true;
    });
  }

  const tl = document.getElementById("timeline");
  if (tl && tl.dataset.liveUrl) {
    poller(async () => {
      const r = await fetch(tl.dataset.liveUrl, { credentials: "same-origin" });
      if (r.status === 401 || r.status === 404 || r.status === 403) return false;
      if (!r.ok) throw new Error(r.status);
      const tpl = document.createElement("template"); tpl.innerHTML = await r.text();
      const next = tpl.content.querySelector("ol.steps"), cur = tl.querySelector("ol.steps");
      if (next && cur && next.dataset.count !== cur.dataset.count) {
        const open = new Set(Array.from(tl.querySelectorAll("details[open]")).map((d) => d.dataset.stepId));
        next.querySelectorAll("details[data-step-id]").forEach((d) => { if (open.has(d.dataset.stepId)) d.setAttribute("open", ""); });
        cur.replaceWith(next);
      }
      return true;
    });
  }
})();
