// The white cell's page (exercises/whitecell.html): polls timeline.json every few seconds
// with the cursor of its last answer and appends the new rows (rendered by the server, in
// the reader's language), refreshes the scoreboard and the clock, filters the timeline by
// team, and asks before ending the exercise.
(function () {
  "use strict";

  const root = document.getElementById("whitecell");
  if (!root) return;
  const rows = root.querySelector("[data-timeline-rows]");
  const box = root.querySelector("[data-timeline-box]");
  const filter = root.querySelector("[data-timeline-filter]");
  const status = root.querySelector("[data-timeline-status]");
  const pollMs = 1000 * Number(root.dataset.pollSeconds || 3);
  let cursor = root.dataset.cursor || "";
  let elapsed = Number(root.dataset.elapsed || 0);
  let left = root.dataset.left === "" ? null : Number(root.dataset.left);
  let running = root.dataset.status === "running";
  let failures = 0;

  function pad(n) {
    return String(n).padStart(2, "0");
  }
  function clockText(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    return pad(Math.floor(seconds / 60)) + ":" + pad(seconds % 60);
  }
  // time left from an hour up as h:mm:ss, like the server's (mm:ss would read as hours)
  function leftText(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 3600) return clockText(seconds);
    return Math.floor(seconds / 3600) + ":" + pad(Math.floor(seconds / 60) % 60) + ":" + pad(seconds % 60);
  }
  function showClock() {
    const clock = root.querySelector("[data-clock]");
    if (clock) clock.textContent = clockText(elapsed);
    const leftBox = root.querySelector("[data-left]");
    if (leftBox && left !== null) leftBox.textContent = leftText(left);
  }

  function applyFilter(scope) {
    const team = filter ? filter.value : "";
    (scope || rows).querySelectorAll("tr[data-key]").forEach(function (row) {
      // the exercise's own rows (start, pauses, end) stay in every team's view
      row.hidden = Boolean(team) && Boolean(row.dataset.team) && row.dataset.team !== team;
    });
  }

  function nearBottom() {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }

  function appendRows(html) {
    if (!html || !html.trim()) return false;
    const follow = nearBottom();
    const holder = document.createElement("tbody");
    holder.innerHTML = html; // server-rendered and escaped rows
    applyFilter(holder);
    let changesCards = false;
    Array.from(holder.children).forEach(function (row) {
      if (rows.querySelector('tr[data-key="' + row.dataset.key + '"]')) return;
      if (row.dataset.kind !== "command") changesCards = true;
      rows.appendChild(row);
    });
    if (follow) box.scrollTop = box.scrollHeight;
    return changesCards;
  }

  // The team cards (tasks done, points, lab state, open terminals) and the injects'
  // deliveries are rendered by the server: after an event that changes them, or while a
  // team's lab is starting, they are taken from a fresh copy of this page (at most every
  // CARDS_MS), so the white cell never watches stale cards.
  const CARDS_MS = 6000;
  let cardsAt = Date.now();
  let cardsWanted = false;

  async function refreshCards() {
    cardsAt = Date.now();
    cardsWanted = false;
    const response = await fetch(window.location.pathname, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    fresh.querySelectorAll("[data-team-card]").forEach(function (card) {
      const mine = root.querySelector('[data-team-card="' + card.dataset.teamCard + '"]');
      if (mine) mine.replaceWith(document.importNode(card, true));
    });
    fresh.querySelectorAll("tr[data-inject]").forEach(function (row) {
      const mine = root.querySelector('tr[data-inject="' + row.dataset.inject + '"]');
      if (mine && mine.cells[2] && row.cells[2]) mine.cells[2].replaceWith(document.importNode(row.cells[2], true));
    });
  }

  function maybeRefreshCards() {
    if (root.querySelector('[data-team-card] [data-environment="starting"]')) cardsWanted = true;
    if (cardsWanted && Date.now() - cardsAt >= CARDS_MS) return refreshCards();
    return null;
  }

  async function poll() {
    const url = root.dataset.timelineUrl + "?after=" + encodeURIComponent(cursor);
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      cursor = data.cursor || cursor;
      if (appendRows(data.html)) cardsWanted = true;
      if (data.scoreboard_html) {
        const board = root.querySelector("[data-scoreboard-box]");
        if (board) board.innerHTML = data.scoreboard_html;
      }
      if (data.clock) {
        elapsed = data.clock.elapsed;
        left = data.clock.left;
        running = data.clock.status === "running";
        if (data.clock.status !== root.dataset.status) {
          // started, paused or ended elsewhere: the controls change, so reload the page
          window.location.reload();
          return;
        }
        showClock();
      }
      await maybeRefreshCards();
      failures = 0;
      status.textContent = "";
    } catch (error) {
      failures += 1;
      if (failures > 2) status.textContent = status.dataset.offline || "…";
    }
    window.setTimeout(poll, pollMs * Math.min(1 + failures, 5));
  }

  window.setInterval(function () {
    if (!running) return;
    elapsed += 1;
    if (left !== null) left = Math.max(0, left - 1);
    showClock();
  }, 1000);

  if (filter) filter.addEventListener("change", function () { applyFilter(); });
  root.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  box.scrollTop = box.scrollHeight;
  window.setTimeout(poll, pollMs);
})();
