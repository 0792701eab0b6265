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
  function showClock() {
    const clock = root.querySelector("[data-clock]");
    if (clock) clock.textContent = clockText(elapsed);
    const leftBox = root.querySelector("[data-left]");
    if (leftBox && left !== null) leftBox.textContent = clockText(left);
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
    if (!html || !html.trim()) return;
    const follow = nearBottom();
    const holder = document.createElement("tbody");
    holder.innerHTML = html; // server-rendered and escaped rows
    applyFilter(holder);
    Array.from(holder.children).forEach(function (row) {
      if (!rows.querySelector('tr[data-key="' + row.dataset.key + '"]')) rows.appendChild(row);
    });
    if (follow) box.scrollTop = box.scrollHeight;
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
      appendRows(data.html);
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
