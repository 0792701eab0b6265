// The lab panel of a module page: start, stop, extend, restart, flags, checks, hints.
// Posts JSON to /api/v1/labs (CSRF token from <meta name="csrf-token">), polls the
// session while it starts, counts the time left down, and updates the markup of
// labs/_panel.html in place. Fires "lab:session" on document when the session changes
// (the terminal listens to it).
(function () {
  "use strict";

  const panel = document.getElementById("lab-panel");
  if (!panel || !panel.dataset.startUrl) return;
  // The lab bar at the top of the module (labs/_lab_bar.html) mirrors the panel's status.
  const bar = document.getElementById("lab-bar");

  const STATUS_LABELS = {
    none: "Not started", starting: "Starting…", running: "Running",
    stopped: "Stopped", failed: "Failed",
  };
  const STATUS_STYLES = {
    none: "secondary", starting: "info", running: "success", stopped: "secondary", failed: "danger",
  };
  const END_MESSAGES = {
    expired: "Your lab’s time ran out and it was stopped. Start it again to go on: your completed tasks are kept.",
    vanished: "Your lab stopped unexpectedly. Start it again to go on: your completed tasks are kept.",
    admin: "An administrator stopped this lab.",
  };
  const POLL_STARTING_MS = 1000;
  const POLL_RUNNING_MS = 20000;

  const csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const $ = (selector, root) => (root || panel).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || panel).querySelectorAll(selector));

  const state = {
    sessionId: panel.dataset.sessionId || "",
    status: panel.dataset.status || "none",
    deadline: Date.now() + 1000 * Number(panel.dataset.secondsLeft || 0),
    canExtend: panel.dataset.canExtend === "true",
  };
  let pollTimer = null;

  async function api(url, body, method) {
    const options = {
      method: method || "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
    };
    if (options.method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { ok: false, status: 0, data: { message: "The platform could not be reached. Check your connection and try again." } };
    }
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = { message: "Unexpected answer from the platform (" + response.status + ")." };
    }
    return { ok: response.ok, status: response.status, data: data };
  }

  const sessionUrl = (suffix) => panel.dataset.sessionUrl + state.sessionId + (suffix || "");

  function showMessage(text, kind) {
    const box = $("#lab-message");
    box.textContent = text || "";
    box.className = "alert alert-" + (kind || "warning");
    box.hidden = !text;
    const barMessage = bar && $("[data-lab-bar-message]", bar);
    if (barMessage) {
      barMessage.textContent = text || "";
      barMessage.hidden = !text;
    }
  }

  function formatLeft(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h + ":" + String(m).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  function tick() {
    if (state.status !== "running") return;
    const left = (state.deadline - Date.now()) / 1000;
    $("#lab-time-left").textContent = formatLeft(left);
    if (bar) $("[data-lab-bar-time-left]", bar).textContent = formatLeft(left);
    if (left <= 0) schedulePoll(0);
  }

  function applyStatus(status) {
    state.status = status;
    panel.dataset.status = status;
    const badge = $("#lab-status");
    badge.textContent = STATUS_LABELS[status] || status;
    badge.className = "badge text-bg-" + (STATUS_STYLES[status] || "secondary");
    badge.dataset.status = status;
    $("#lab-time").hidden = status !== "running";
    $$("[data-show-when]").forEach((el) => {
      el.hidden = !el.dataset.showWhen.split(" ").includes(status);
    });
    $$("[data-enable-when]").forEach((el) => {
      el.disabled = !el.dataset.enableWhen.split(" ").includes(status);
    });
    const extend = $('[data-lab-action="extend"] button');
    if (extend) extend.disabled = !state.canExtend;
    applyBar(status);
    const terminal = document.getElementById("lab-terminal");
    if (terminal) {
      terminal.dataset.sessionId = state.sessionId;
      terminal.dataset.status = status;
    }
    const announced = state.sessionId + ":" + status;
    if (announced !== state.announced) {
      state.announced = announced;
      document.dispatchEvent(new CustomEvent("lab:session", {
        detail: { sessionId: state.sessionId, status: status, lab: panel.dataset.lab },
      }));
    }
    tick();
  }

  function applyBar(status) {
    if (!bar) return;
    bar.dataset.status = status;
    const badge = $("[data-lab-bar-status]", bar);
    badge.textContent = STATUS_LABELS[status] || status;
    badge.className = "badge text-bg-" + (STATUS_STYLES[status] || "secondary");
    $("[data-lab-bar-time]", bar).hidden = status !== "running";
    $$("[data-show-when]", bar).forEach((el) => {
      el.hidden = !el.dataset.showWhen.split(" ").includes(status);
    });
  }

  function applyTask(task) {
    if (!task) return;
    const item = document.getElementById("lab-task-" + task.id);
    if (!item) return;
    item.dataset.done = task.done ? "true" : "false";
    const badge = $(".lab-task-state", item);
    badge.textContent = task.done ? "Done" : "To do";
    badge.className = "badge lab-task-state text-bg-" + (task.done ? "success" : "secondary");
    if (task.hint_html) showHint(item, task.hint_html);
  }

  function showHint(item, html) {
    const hint = $(".lab-hint", item);
    if (!hint) return;
    // hint_html is sanitised by the platform (the same HTML the page renders).
    $(".lab-hint-text", item).innerHTML = html;
    hint.hidden = false;
    const form = $('[data-lab-action="hint"]', item);
    if (form) form.hidden = true;
  }

  function countDone() {
    const items = $$(".lab-task");
    const done = items.filter((item) => item.dataset.done === "true").length;
    $("#lab-tasks-done").textContent = done + " of " + items.length + " done";
    const barDone = bar && $("[data-lab-bar-done]", bar);
    if (barDone) barDone.textContent = String(done);
    if (done !== state.tasksDone) {
      // The module page asks again whether the module can be marked complete.
      state.tasksDone = done;
      document.dispatchEvent(new CustomEvent("lab:tasks", { detail: { done: done } }));
    }
  }

  function taskResult(item, text, good, output) {
    const box = $(".lab-task-result", item);
    box.className = "lab-task-result small mt-1 " + (good ? "text-success" : "text-danger");
    box.textContent = text;
    if (output) {
      const pre = document.createElement("pre");
      pre.className = "small mb-0 mt-1 bg-light p-1";
      pre.textContent = output;
      box.appendChild(pre);
    }
  }

  function applySession(session) {
    state.sessionId = String(session.id);
    panel.dataset.sessionId = state.sessionId;
    state.deadline = Date.now() + 1000 * (session.seconds_left || 0);
    state.canExtend = Boolean(session.can_extend);
    (session.tasks || []).forEach(applyTask);
    countDone();
    if (session.status === "failed") {
      showMessage(session.error || "The lab could not start.", "danger");
    } else if (session.status === "stopped" && END_MESSAGES[session.end_reason]) {
      showMessage(END_MESSAGES[session.end_reason], "warning");
    } else if (session.status !== "stopped") {
      showMessage("");
    }
    applyStatus(session.status);
    schedulePoll();
  }

  function schedulePoll(delay) {
    clearTimeout(pollTimer);
    if (!state.sessionId || !["starting", "running"].includes(state.status)) return;
    const wait = delay !== undefined ? delay : (state.status === "starting" ? POLL_STARTING_MS : POLL_RUNNING_MS);
    pollTimer = setTimeout(poll, wait);
  }

  async function poll() {
    const result = await api(sessionUrl(), null, "GET");
    if (result.ok) {
      applySession(result.data);
    } else {
      schedulePoll(5000);
    }
  }

  async function start(url) {
    const body = { module: Number(panel.dataset.moduleId) || undefined };
    const result = await api(url, body);
    if (!result.ok) {
      showMessage(result.data.message || "The lab could not start.", result.status === 409 ? "warning" : "danger");
      return;
    }
    showMessage("");
    state.sessionId = String(result.data.id);
    panel.dataset.sessionId = state.sessionId;
    applyStatus(result.data.status);
    schedulePoll(result.data.status === "starting" ? POLL_STARTING_MS : 0);
  }

  const actions = {
    start: () => start(panel.dataset.startUrl),
    restart: () => start(sessionUrl("/restart")),
    async stop() {
      const result = await api(sessionUrl("/stop"));
      if (!result.ok) return showMessage(result.data.message, "danger");
      showMessage("");
      applySession(result.data);
    },
    async extend() {
      const result = await api(sessionUrl("/extend"));
      if (!result.ok) return showMessage(result.data.message, "warning");
      applySession(result.data);
      showMessage("Extended: you now have " + formatLeft(result.data.seconds_left) + " left.", "success");
    },
    async flag(form) {
      const item = form.closest(".lab-task");
      const input = form.querySelector('input[name="flag"]');
      const result = await api(sessionUrl("/flag"), { task: form.dataset.task, flag: input.value });
      if (!result.ok) return taskResult(item, result.data.message, false);
      taskResult(item, result.data.message, result.data.correct);
      if (result.data.correct) input.value = "";
      applyTask(result.data.task);
      countDone();
    },
    async check(form) {
      const item = form.closest(".lab-task");
      taskResult(item, "Checking…", true);
      const result = await api(sessionUrl("/check"), { task: form.dataset.task });
      if (!result.ok) return taskResult(item, result.data.message, false);
      taskResult(item, result.data.passed ? "Passed: task done." : "Not yet: the check failed.",
        result.data.passed, result.data.output);
      applyTask(result.data.task);
      countDone();
    },
    async hint(form) {
      const item = form.closest(".lab-task");
      // The cost was shown and confirmed (data-confirm) before this runs.
      const result = await api(panel.dataset.hintUrl, {
        task: form.dataset.task, accept_penalty: Boolean(form.dataset.penalty),
      });
      if (!result.ok) return taskResult(item, result.data.message, false);
      showHint(item, result.data.hint_html);
    },
  };

  async function onSubmit(event) {
    const form = event.target.closest("form[data-lab-action]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const buttons = $$("button", form);
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await actions[form.dataset.labAction](form);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      const extend = $('[data-lab-action="extend"] button');
      if (extend) extend.disabled = !state.canExtend;
    }
  }

  panel.addEventListener("submit", onSubmit);
  if (bar) bar.addEventListener("submit", onSubmit);
  const barTerminal = bar && $("[data-lab-bar-terminal]", bar);
  if (barTerminal) {
    // The terminal's own launcher is in the panel (terminal.js): open it from up here.
    barTerminal.addEventListener("click", () => {
      const open = document.querySelector("#lab-terminal-launcher [data-terminal-open]");
      if (open && !open.disabled) open.click();
    });
  }
  state.tasksDone = $$(".lab-task").filter((item) => item.dataset.done === "true").length;
  setInterval(tick, 1000);
  applyStatus(state.status);
  schedulePoll(state.status === "starting" ? POLL_STARTING_MS : undefined);
})();
