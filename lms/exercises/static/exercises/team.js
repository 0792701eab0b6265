// The team page of an exercise (exercises/team.html): polls state.json every few seconds
// and updates the clock, injects, tasks, members, notes and scoreboard in place; posts the
// task and notes forms as JSON. Without JavaScript the forms post and the page comes back.
// The notes pad never overwrites what the member is typing: a teammate's save is shown
// beside it, to merge or take.
(function () {
  "use strict";

  const page = document.getElementById("team-page");
  if (!page) return;

  const POLL_MS = 3000;
  const csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const msg = page.dataset;
  const statusLabels = JSON.parse(page.dataset.statusLabels || "{}");
  const $ = (selector, root) => (root || page).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || page).querySelectorAll(selector));

  let clock = {
    status: page.dataset.status,
    elapsed: Number(page.dataset.elapsed || 0),
    left: Number(page.dataset.left || 0),
    at: Date.now(),
  };
  let environment = $("#lab-terminal") ? $("#lab-terminal").dataset.status : null;

  // -- the clock ------------------------------------------------------------------------------

  function hms(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    const two = (n) => String(n).padStart(2, "0");
    return `${Math.floor(seconds / 3600)}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
  }

  function tick() {
    const passed = clock.status === "running" ? (Date.now() - clock.at) / 1000 : 0;
    $("#team-clock").textContent = hms(clock.elapsed + passed);
    $("#team-left").textContent = hms(clock.left - passed);
  }

  // -- applying the state ---------------------------------------------------------------------

  function apply(state) {
    const ex = state.exercise;
    clock = {status: ex.status, elapsed: ex.elapsed_seconds, left: ex.left_seconds, at: Date.now()};
    const badge = $("#team-status");
    badge.dataset.status = ex.status;
    badge.textContent = statusLabels[ex.status] || ex.status;
    $("#team-paused").hidden = !ex.paused;
    $("#team-ended").hidden = !ex.ended;
    $("#team-waiting").hidden = ex.status !== "draft";
    const report = $("#team-report");
    if (ex.report_url) report.href = ex.report_url;
    report.hidden = !ex.report_url;
    tick();
    applyTasks(state.tasks, ex.status === "running");
    applyInjects(state.injects);
    applyMembers(state.members);
    applyNotes(state.notes);
    applyScoreboard(state.scoreboard);
    if (state.environment !== environment) {
      // the team's environment was made after this page: the terminal mounts on a reload
      if (!document.getElementById("lab-terminal-launcher") && state.environment) window.location.reload();
      environment = state.environment;
      // the terminal refreshes its session at once (it listens to the lab panel's event)
      document.dispatchEvent(new CustomEvent("lab:session"));
    }
  }

  function applyTasks(tasks, running) {
    for (const task of tasks) {
      const item = document.getElementById(`team-task-${task.id}`);
      if (!item) continue;
      item.dataset.done = String(task.done);
      const state = $(".team-task-state", item);
      state.textContent = task.done ? msg.msgDone : msg.msgTodo;
      state.className = `badge team-task-state ${task.done ? "text-bg-success" : "text-bg-secondary"}`;
      $(".team-task-by", item).textContent = task.done
        ? msg.msgDoneBy.replace("{name}", task.done_by || "").replace("{time}", localTime(task.done_at))
        : "";
      $(".team-task-actions", item).hidden = task.done || !running;
      // a done task's hint would only cost points: its button goes with the check's
      const hintForm = $('[data-team-action="hint"]', item);
      if (hintForm) hintForm.hidden = task.done || Boolean(task.hint_html);
      if (task.hint_html) {
        const hint = $(".team-hint", item);
        $(".team-hint-text", item).innerHTML = task.hint_html; // sanitised by the server
        hint.hidden = false;
        $('[data-team-action="hint"]', item).hidden = true;
      }
      const result = $(".team-task-result", item);
      if (task.done) {
        if (result.classList.contains("text-danger")) result.textContent = "";
      } else if (task.last_output && !result.dataset.fresh) {
        showResult(result, false, msg.msgLastCheck, task.last_output);
      }
    }
  }

  // The server's times are UTC (naive ISO); partner centres sit in other time zones, so each
  // member reads them in their own (hh:mm).
  function localTime(iso) {
    if (!iso) return "";
    const when = new Date(/[Zz]|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
    if (Number.isNaN(when.getTime())) return iso.slice(11, 16);
    return when.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", hour12: false});
  }

  // the times rendered by the server (UTC) shown in the member's time zone too
  $$("[data-utc]").forEach((el) => {
    el.textContent = localTime(el.dataset.utc);
  });

  function applyInjects(injects) {
    const list = $("#team-injects");
    const known = new Set($$(".team-inject", list).map((el) => el.dataset.injectId));
    // newest first: insert the oldest new one first, each at the top
    for (const inject of injects.slice().reverse()) {
      if (known.has(inject.id)) continue;
      const article = document.createElement("article");
      article.className = "border rounded p-2 mb-2 team-inject team-inject-new";
      article.dataset.injectId = inject.id;
      const title = document.createElement("h3");
      title.className = "h6 mb-1";
      title.textContent = `${inject.title} `;
      const when = document.createElement("small");
      when.className = "text-muted";
      when.textContent = localTime(inject.fired_at);
      title.appendChild(when);
      const body = document.createElement("div");
      body.className = "team-inject-message";
      body.innerHTML = inject.message_html; // Markdown rendered and sanitised by the server
      article.append(title, body);
      list.prepend(article);
      announceInject(inject.title);
    }
    $("#team-no-injects").hidden = injects.length > 0;
  }

  // The injects list sits below the fold while the member works in the terminal: a new
  // one is announced in a banner that stays at the top of the window until read.
  function announceInject(title) {
    const banner = $("#team-new-inject");
    if (!banner) return;
    $("#team-new-inject-title", banner).textContent = title;
    banner.hidden = false;
  }

  function dismissInjectBanner() {
    const banner = $("#team-new-inject");
    if (banner) banner.hidden = true;
  }

  function applyMembers(members) {
    const body = $("#team-members");
    body.replaceChildren(
      ...members.map((m) => row([m.me ? `${m.name} ${msg.msgYou}` : m.name, m.role_title, m.centre, m.tasks_done])),
    );
  }

  function applyScoreboard(scores) {
    const section = $("#team-scoreboard");
    section.hidden = !scores;
    if (!scores) return;
    $("#team-scores").replaceChildren(
      ...scores.map((s) => {
        const tr = row([s.rank, s.team, s.points, `${s.tasks_done} / ${s.tasks_total}`]);
        if (s.mine) tr.className = "table-primary";
        return tr;
      }),
    );
  }

  function row(cells) {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      const td = document.createElement("td");
      td.textContent = String(cell);
      tr.appendChild(td);
    }
    return tr;
  }

  // -- the notes pad --------------------------------------------------------------------------

  const notesForm = $("#team-notes-form");
  const notes = $("#team-notes");
  const versionField = notesForm.elements.version;
  const conflictBox = $("#team-notes-conflict");
  const theirsField = $("#team-notes-theirs");
  // the text of the version the pad is based on: what the member typed differs from it
  let savedText = conflictBox.hidden ? notes.value : theirsField.value;

  function applyNotes(current) {
    if (current.version === Number(versionField.value)) return;
    if (notes.value === savedText) {
      notes.value = current.text;
      savedText = current.text;
      versionField.value = current.version;
      conflictBox.hidden = true;
    } else {
      showTheirs(current.text, current.version, msg.msgNotesChanged, current.saved_by);
    }
  }

  function showTheirs(text, version, message, savedBy) {
    theirsField.value = text;
    savedText = text;
    versionField.value = version; // saving now keeps the member's text, theirs stays shown
    $("#team-notes-conflict-message").firstChild.textContent = `${message} `;
    $("#team-notes-conflict-by").textContent = savedBy ? `(${savedBy})` : "";
    conflictBox.hidden = false;
  }

  $("#team-notes-merge").addEventListener("click", () => {
    notes.value = `${notes.value.replace(/\s+$/, "")}\n\n${theirsField.value}`;
    conflictBox.hidden = true;
    notes.focus();
  });
  $("#team-notes-take").addEventListener("click", () => {
    notes.value = theirsField.value;
    conflictBox.hidden = true;
  });

  notesForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const sent = notes.value;
    const status = $("#team-notes-status");
    const {response, data} = await post(notesForm);
    if (response && response.ok) {
      savedText = sent;
      versionField.value = data.version;
      conflictBox.hidden = true;
      status.textContent = msg.msgNotesSaved;
    } else if (response && response.status === 409 && data.notes !== undefined) {
      showTheirs(data.notes, data.version, data.message, data.saved_by);
      status.textContent = "";
    } else {
      status.textContent = data.message || msg.msgUnreachable;
    }
  });

  // -- task forms -------------------------------------------------------------------------------

  function showResult(element, ok, message, output) {
    element.className = `team-task-result small mt-1 ${ok ? "text-success" : "text-danger"}`;
    element.textContent = message || "";
    if (output) {
      const pre = document.createElement("pre");
      pre.className = "small mb-0 mt-1 bg-light p-1";
      pre.textContent = output;
      element.appendChild(pre);
    }
  }

  for (const form of $$("form[data-team-action]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      const item = form.closest(".team-task");
      const result = $(".team-task-result", item);
      const button = form.querySelector("button");
      button.disabled = true;
      if (form.dataset.teamAction === "check") showResult(result, true, msg.msgWorking);
      const {data} = await post(form);
      button.disabled = false;
      if (data.state) apply(data.state);
      if (form.dataset.teamAction !== "hint" || !data.ok) {
        showResult(result, Boolean(data.ok), data.message || msg.msgUnreachable, data.output);
        result.dataset.fresh = "1";
      }
      if (data.ok && form.dataset.teamAction === "flag") form.reset();
    });
  }

  async function post(form) {
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: {Accept: "application/json", "X-CSRFToken": csrfToken},
      });
      let data = {};
      try {
        data = await response.json();
      } catch (e) {
        data = {};
      }
      return {response, data};
    } catch (e) {
      return {response: null, data: {message: msg.msgUnreachable}};
    }
  }

  // -- polling ----------------------------------------------------------------------------------

  async function poll() {
    if (!document.hidden) {
      try {
        const response = await fetch(page.dataset.stateUrl, {
          headers: {Accept: "application/json"},
          credentials: "same-origin",
        });
        if (response.ok) apply(await response.json());
      } catch (e) {
        /* offline for a moment: the next poll tries again */
      }
    }
    setTimeout(poll, POLL_MS);
  }

  const injectBanner = $("#team-new-inject");
  if (injectBanner) {
    injectBanner.querySelectorAll("a, button").forEach((el) => el.addEventListener("click", dismissInjectBanner));
  }

  setInterval(tick, 1000);
  setTimeout(poll, POLL_MS);
})();
