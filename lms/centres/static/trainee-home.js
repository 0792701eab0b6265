// The trainee's home: confirm the calendar address's reset, count a running lab's time
// left down (the page shows the time left when it was served). Copying: copy-button.js.
(function () {
  "use strict";

  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  const counters = Array.from(document.querySelectorAll("[data-countdown]"), (node) => ({
    node: node,
    deadline: Date.now() + 1000 * Number(node.dataset.countdown || 0),
  }));
  function tick() {
    for (const counter of counters) {
      const s = Math.max(0, Math.floor((counter.deadline - Date.now()) / 1000));
      counter.node.textContent = Math.floor(s / 3600) + ":" +
        String(Math.floor((s % 3600) / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
    }
  }
  if (counters.length) setInterval(tick, 1000);
})();
