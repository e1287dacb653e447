// The admin table reloads itself every few seconds; forms stay server-side
// posts with the page's CSRF token. A refresh waits while a message is typed.
(function () {
  "use strict";
  const root = document.getElementById("admin");
  if (!root) return;
  async function refresh() {
    const active = document.activeElement;
    if (active && active.tagName === "INPUT" && root.contains(active) && active.value !== "") return;
    try {
      const r = await fetch("/admin/table", { credentials: "same-origin", cache: "no-store" });
      if (r.ok) root.innerHTML = await r.text();
      else if (r.status === 401 || r.redirected) location.reload();
    } catch (e) { /* offline for a moment: try again next tick */ }
  }
  setInterval(refresh, 3000);
  // Kill ends another user's session for good: ask first, as ctrl+b q does.
  root.addEventListener("submit", (ev) => {
    const f = ev.target;
    if (f.classList && f.classList.contains("confirm") && !window.confirm(f.dataset.confirm)) ev.preventDefault();
  });
})();
