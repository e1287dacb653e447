// The terminal page: xterm.js on a WebSocket to /s/{ref}/ws.
// Binary frames carry terminal bytes both ways; text frames carry
// {"type":"resize","cols":C,"rows":R} up and {"type":"session",...} down.
// Workspace tickets (SPEC §10): {"type":"ticket","session":ID,"gen":N,
// "ticket":T} down is kept in localStorage under "termhost.ticket.ID"; a
// page holding one for its session connects with ?ticket=1 and sends
// {"type":"ticket","ticket":T} as its first frame, so a server that lost
// the session restores it. {"type":"ticket-refused","reason":R} down: the
// stored ticket is dropped and R shown.
// Close code 4000 means the server ended this attachment on purpose
// (taken over, detached, killed): say why and stay. Anything else — a
// dropped network, 4001 (server restarting) — reconnects with backoff.
(function () {
  "use strict";
  const el = document.getElementById("terminal");
  const status = document.getElementById("status");
  const shared = el.dataset.shared === "true";
  let ref = el.dataset.ref;
  const term = new Terminal({ cursorBlink: true, scrollback: 1000, fontFamily: "ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace", fontSize: 15 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(el);
  fit.fit();
  term.focus();

  const enc = new TextEncoder();
  const CHUNK = 32 * 1024; // below the server's 64 KiB message limit
  let ws = null, state = "connecting", attempts = 0, reconnects = 0, timer = null, opened = false;
  let restarting = false; // told 4001: failed attempts until the server is back say so too

  // show puts text in the status line; button (if any) reconnects, and a
  // link leads to the session list. final: the attachment ended on purpose,
  // so the keyboard leaves the terminal for the status line (xterm keeps
  // Tab, and a keyboard-only user could not reach the buttons); an ended
  // session offers no Reconnect (it would quietly start a new session).
  function show(text, button, final) {
    status.textContent = text;
    let first = null;
    if (button) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = button;
      b.addEventListener("click", () => { attempts = 0; connect(); });
      status.appendChild(b);
      first = b;
    }
    if (button || final) {
      const a = document.createElement("a");
      a.href = "/";
      a.textContent = "Your sessions";
      status.appendChild(a);
      first = first || a;
    }
    status.hidden = false;
    if (final && first) {
      term.blur();
      first.focus();
    }
  }
  function hide() { status.hidden = true; status.textContent = ""; }

  function send(bytes) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    for (let i = 0; i < bytes.length; i += CHUNK) ws.send(bytes.subarray(i, i + CHUNK));
  }
  term.onData((d) => send(enc.encode(d)));
  term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 255)));
  term.onResize(({ cols, rows }) => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "resize", cols, rows }));
  });
  let pending = false;
  window.addEventListener("resize", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; fit.fit(); });
  });

  let tickets = 0; // tickets received, for tests
  const ticketKey = (id) => "termhost.ticket." + id;
  function storedTicket(id) {
    try {
      const t = JSON.parse(localStorage.getItem(ticketKey(id)) || "null");
      return t && typeof t.ticket === "string" ? t : null;
    } catch (e) { return null; }
  }
  function keepTicket(m) {
    tickets++;
    try { localStorage.setItem(ticketKey(m.session), JSON.stringify({ gen: m.gen, ticket: m.ticket })); } catch (e) { /* storage full or off */ }
  }
  let offer = null; // the ticket this connection offers

  function url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams({ cols: term.cols, rows: term.rows });
    if (shared) q.set("shared", "1");
    offer = storedTicket(ref);
    if (offer) q.set("ticket", "1");
    return proto + "//" + location.host + "/s/" + encodeURIComponent(ref) + "/ws?" + q;
  }

  function connect() {
    clearTimeout(timer);
    state = "connecting";
    opened = false;
    const sock = new WebSocket(url());
    sock.binaryType = "arraybuffer";
    ws = sock;
    sock.onopen = () => {
      if (offer) sock.send(JSON.stringify({ type: "ticket", ticket: offer.ticket }));
      opened = true; restarting = false; state = "open"; attempts = 0; hide(); term.focus();
    };
    sock.onmessage = (ev) => {
      if (typeof ev.data !== "string") { term.write(new Uint8Array(ev.data)); return; }
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "ticket") { keepTicket(m); return; }
      if (m.type === "ticket-refused") {
        try { localStorage.removeItem(ticketKey(m.session)); } catch (e) { /* ignore */ }
        status.textContent = m.reason;
        status.hidden = false;
        return;
      }
      if (m.type === "session") {
        ref = m.id;
        history.replaceState(null, "", "/s/" + encodeURIComponent(m.id) + (shared ? "?shared=1" : ""));
        document.title = m.name + " · termhost";
      }
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      if (ev.code === 4000) {
        state = "ended";
        const reason = ev.reason || "The session was detached.";
        // "[session NAME ended: …]": nothing to reconnect to.
        show(reason, / ended: /.test(reason) ? "" : "Reconnect", true);
        return;
      }
      if (!opened) {
        // The upgrade failed: maybe the sign-in ended.
        fetch("/api/me", { credentials: "same-origin", cache: "no-store" }).then((r) => {
          if (r.status === 401) location.href = "/?expired=1&next=" + encodeURIComponent(location.pathname + location.search);
          else retry(ev);
        }, () => retry(ev));
        return;
      }
      retry(ev);
    };
  }

  function retry(ev) {
    state = "reconnecting";
    if (ev.code === 4001) restarting = true;
    const delay = Math.min(10000, 250 * 2 ** attempts) * (0.75 + Math.random() / 2);
    attempts++;
    reconnects++;
    show((restarting ? "Server restarting" : "Connection lost") + "; reconnecting in " + Math.ceil(delay / 1000) + " s…", "Reconnect now");
    timer = setTimeout(connect, delay);
  }

  // For tests and the curious: the screen as text, and the socket's state.
  window.termhost = {
    term,
    state: () => state,
    reconnects: () => reconnects,
    tickets: () => tickets,
    screen: () => {
      const b = term.buffer.active, lines = [];
      for (let y = 0; y < term.rows; y++) {
        const l = b.getLine(b.viewportY + y);
        lines.push(l ? l.translateToString(true) : "");
      }
      return lines.join("\n");
    },
    cursor: () => ({ x: term.buffer.active.cursorX, y: term.buffer.active.cursorY }),
  };
  connect();
})();
