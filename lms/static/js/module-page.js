// The module page's "Finish this module" section: when lab tasks get done in the page
// (lab-panel.js fires "lab:tasks"), ask the platform again what is still missing and
// enable "Mark as complete", or keep it disabled with the reason.
(function () {
  "use strict";

  const finish = document.getElementById("finish");
  const button = document.getElementById("complete-button");
  if (!finish || !button) return;
  const reason = document.getElementById("module-missing");

  async function refresh() {
    let state;
    try {
      const answer = await fetch(finish.dataset.completionUrl, {
        headers: {Accept: "application/json"}, credentials: "same-origin",
      });
      if (!answer.ok) return;
      state = await answer.json();
    } catch (error) {
      return;  // offline: the server still refuses a click too early
    }
    const missing = state.missing || [];
    button.disabled = missing.length > 0;
    reason.hidden = missing.length === 0;
    reason.querySelector("[data-missing]").textContent = missing.join("; ");
  }

  document.addEventListener("lab:tasks", refresh);
})();
