/* The lab terminal: xterm.js tabs docked beside the module text, each bridged to a
 * shell in the lab over a WebSocket (see lms/terminal/bridge.py for the messages).
 *
 * - The dock sits at the right of the window (at the bottom on narrow screens);
 *   its left edge is a splitter (drag it, or use the arrow keys on it); the
 *   full-screen button gives it the whole window.
 * - Several tabs; each keeps its shell through a network blip: the socket
 *   reconnects with the same terminal id and the server sends what was missed.
 *   A page reload re-attaches too (the ids are kept in sessionStorage).
 * - window.lmsTerminals lists the open tabs (tests read the screen through it).
 * - It mounts on #lab-terminal-launcher's data-state-url: a module page's
 *   /labs/<lab>/terminal/state (the user's own session of the lab) or, on another page,
 *   /labs/sessions/<id>/terminal/state (one given session: a team exercise's).
 */
(function () {
  "use strict";

  const launcher = document.getElementById("lab-terminal-launcher");
  if (!launcher || !window.Terminal || !window.FitAddon) return;

  const MAX_TABS = 4;
  const MIN_WIDTH = 320;
  const PING_EVERY = 15000;
  const PONG_TIMEOUT = 10000;
  const encoder = new TextEncoder();
  const statusLine = launcher.querySelector("[data-terminal-status]");
  const openButton = launcher.querySelector("[data-terminal-open]");
  const webLinks = launcher.querySelectorAll("[data-web-port]");

  let session = null;       // {id, status, socket, web: [{port, url}]}
  let tabs = [];
  let active = null;
  let tabNumber = 0;
  let pollTimer = null;
  let userHidDock = false;

  window.lmsTerminals = tabs;

  // -- the dock -------------------------------------------------------------------------

  const dock = element("section", "term-dock", {"aria-label": "Lab terminal", hidden: ""});
  dock.innerHTML =
    '<div class="term-splitter" role="separator" aria-orientation="vertical" tabindex="0"' +
    ' aria-label="Resize the terminal (arrow keys)"></div>' +
    '<div class="term-frame">' +
    '  <div class="term-bar">' +
    '    <div class="term-tabs" role="tablist" aria-label="Terminals"></div>' +
    '    <button type="button" class="term-button term-new" aria-label="New terminal" title="New terminal">+</button>' +
    '    <span class="term-state" role="status" aria-live="polite"></span>' +
    '    <button type="button" class="term-button term-full" aria-pressed="false">Full screen</button>' +
    '    <button type="button" class="term-button term-hide" aria-label="Hide the terminal">Hide</button>' +
    '  </div>' +
    '  <div class="term-panes"></div>' +
    '</div>';
  document.body.appendChild(dock);
  const tabList = dock.querySelector(".term-tabs");
  const panes = dock.querySelector(".term-panes");
  const splitter = dock.querySelector(".term-splitter");
  const fullButton = dock.querySelector(".term-full");
  const dockState = dock.querySelector(".term-state");

  function element(tag, className, attributes) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    return node;
  }

  function setWidth(width) {
    const max = Math.max(MIN_WIDTH, window.innerWidth - MIN_WIDTH);
    const clamped = Math.round(Math.min(Math.max(width, MIN_WIDTH), max));
    document.documentElement.style.setProperty("--term-width", clamped + "px");
    splitter.setAttribute("aria-valuenow", String(clamped));
    splitter.setAttribute("aria-valuemin", String(MIN_WIDTH));
    splitter.setAttribute("aria-valuemax", String(max));
    try { localStorage.setItem("lms-terminal-width", String(clamped)); } catch (e) { /* private mode */ }
    refit();
  }

  function currentWidth() {
    return dock.getBoundingClientRect().width || Math.round(window.innerWidth * 0.45);
  }

  splitter.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    splitter.setPointerCapture(event.pointerId);
    document.body.classList.add("term-resizing");
    const move = (e) => setWidth(window.innerWidth - e.clientX);
    const up = () => {
      splitter.removeEventListener("pointermove", move);
      splitter.removeEventListener("pointerup", up);
      document.body.classList.remove("term-resizing");
    };
    splitter.addEventListener("pointermove", move);
    splitter.addEventListener("pointerup", up);
  });
  splitter.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? 128 : 32;
    if (event.key === "ArrowLeft") setWidth(currentWidth() + step);
    else if (event.key === "ArrowRight") setWidth(currentWidth() - step);
    else return;
    event.preventDefault();
  });

  fullButton.addEventListener("click", () => {
    const full = dock.classList.toggle("term-full");
    fullButton.setAttribute("aria-pressed", String(full));
    fullButton.textContent = full ? "Exit full screen" : "Full screen";
    refit();
    if (active) active.term.focus();
  });
  dock.querySelector(".term-hide").addEventListener("click", () => {
    userHidDock = true;
    showDock(false);
  });
  dock.querySelector(".term-new").addEventListener("click", () => newTab());
  openButton.addEventListener("click", () => {
    userHidDock = false;
    showDock(true);
    if (!tabs.length) newTab();
    else if (active) active.term.focus();
  });

  function showDock(visible) {
    dock.hidden = !visible;
    document.body.classList.toggle("term-docked", visible);
    if (visible) refit();
  }

  let refitTimer = null;
  function refit() {
    clearTimeout(refitTimer);
    refitTimer = setTimeout(() => { if (active && !dock.hidden) active.fitNow(); }, 30);
  }
  window.addEventListener("resize", refit);

  // -- tabs ------------------------------------------------------------------------------

  function storageKey() { return session ? "lms-terminals-" + session.id : null; }

  function rememberTabs() {
    const key = storageKey();
    if (!key) return;
    try { sessionStorage.setItem(key, JSON.stringify(tabs.map((t) => t.id))); } catch (e) { /* ignore */ }
  }

  function newId() {
    const bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function newTab(id) {
    if (!session || session.status !== "running") return null;
    if (tabs.length >= MAX_TABS) {
      dockState.textContent = "At most " + MAX_TABS + " terminals.";
      return null;
    }
    const tab = new TerminalTab(id || newId(), ++tabNumber);
    tabs.push(tab);
    rememberTabs();
    showDock(true);
    select(tab);
    tab.connect();
    return tab;
  }

  function select(tab) {
    active = tab;
    for (const t of tabs) {
      const on = t === tab;
      t.button.setAttribute("aria-selected", String(on));
      t.button.tabIndex = on ? 0 : -1;
      t.pane.hidden = !on;
    }
    tab.fitNow();
    tab.term.focus();
  }

  function removeTab(tab) {
    tabs.splice(tabs.indexOf(tab), 1);
    tab.tab.remove();
    tab.pane.remove();
    rememberTabs();
    if (active === tab) {
      active = null;
      if (tabs.length) select(tabs[tabs.length - 1]);
      else showDock(false);
    }
  }

  class TerminalTab {
    constructor(id, number) {
      this.id = id;
      this.number = number;
      this.received = 0;
      this.socket = null;
      this.ended = false;
      this.closing = false;
      this.retries = 0;
      this.lastPong = 0;
      this.heartbeat = null;
      this.retryTimer = null;
      this.refusal = "";

      this.tab = element("div", "term-tab", {role: "presentation"});
      this.button = element("button", "term-tab-button", {
        type: "button", role: "tab", id: "term-tab-" + id, "aria-controls": "term-pane-" + id,
      });
      this.button.textContent = "Terminal " + number;
      this.button.setAttribute("aria-keyshortcuts", "Delete");
      this.button.title = "Delete closes this terminal";
      // A tab list holds tabs only (ARIA): the × is for the mouse, kept out of the
      // accessibility tree and the tab order; keyboards close a tab with Delete.
      const close = element("button", "term-tab-close", {
        type: "button", tabindex: "-1", "aria-hidden": "true", title: "Close this terminal",
      });
      close.textContent = "×";
      this.tab.append(this.button, close);
      tabList.appendChild(this.tab);
      this.pane = element("div", "term-pane", {
        role: "tabpanel", id: "term-pane-" + id, "aria-labelledby": "term-tab-" + id,
      });
      panes.appendChild(this.pane);

      this.term = new window.Terminal({
        cursorBlink: true, scrollback: 5000, fontSize: 14, allowProposedApi: false,
        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
        theme: {background: "#1e1e1e"},
      });
      this.fit = new window.FitAddon.FitAddon();
      this.term.loadAddon(this.fit);
      this.term.open(this.pane);
      this.term.onData((data) => this.sendBytes(encoder.encode(data)));
      this.term.onBinary((data) => this.sendBytes(Uint8Array.from(data, (c) => c.charCodeAt(0))));
      this.term.onResize(({cols, rows}) => this.sendJson({t: "resize", cols: cols, rows: rows}));

      this.button.addEventListener("click", () => select(this));
      this.button.addEventListener("keydown", (event) => {
        const i = tabs.indexOf(this);
        if (event.key === "ArrowRight" && tabs[i + 1]) select(tabs[i + 1]);
        else if (event.key === "ArrowLeft" && tabs[i - 1]) select(tabs[i - 1]);
        else if (event.key === "Delete") { event.preventDefault(); this.close(); return; }
        else return;
        active.button.focus();
        event.preventDefault();
      });
      close.addEventListener("click", () => this.close());
      new ResizeObserver(() => { if (this === active) refit(); }).observe(this.pane);
    }

    fitNow() {
      if (this.pane.hidden || !this.pane.clientWidth) return;
      try { this.fit.fit(); } catch (e) { /* not visible yet */ }
    }

    /** The text on screen, one string per line (used by tests and screen readers' tools). */
    text() {
      const buffer = this.term.buffer.active;
      const lines = [];
      for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
      return lines.join("\n");
    }

    connect() {
      if (!session || this.ended) return;
      const url = new URL(session.socket, window.location.href);
      url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
      url.searchParams.set("terminal", this.id);
      url.searchParams.set("seen", String(this.received));
      url.searchParams.set("cols", String(this.term.cols));
      url.searchParams.set("rows", String(this.term.rows));
      this.setState(this.retries ? "Reconnecting…" : "Connecting…");
      const socket = new WebSocket(url.toString());
      socket.binaryType = "arraybuffer";
      this.socket = socket;
      socket.addEventListener("open", () => {
        socket.opened = true;
        this.refusal = "";
        this.retries = 0;
        this.lastPong = Date.now();
        this.heartbeat = setInterval(() => this.ping(), PING_EVERY);
      });
      socket.addEventListener("message", (event) => this.receive(event.data));
      socket.addEventListener("close", () => this.disconnected(socket));
    }

    receive(data) {
      if (data instanceof ArrayBuffer) {
        const bytes = new Uint8Array(data);
        this.received += bytes.length;
        this.term.write(bytes);
        return;
      }
      let message;
      try { message = JSON.parse(data); } catch (e) { return; }
      if (message.t === "hello") {
        this.received = message.offset;
        this.setState("");
        this.sendJson({t: "resize", cols: this.term.cols, rows: this.term.rows});
      } else if (message.t === "pong") {
        this.lastPong = Date.now();
      } else if (message.t === "exit") {
        this.ended = true;
        this.term.write("\r\n\x1b[33m[" + message.reason + "]\x1b[0m\r\n");
        this.setState(message.reason);
        this.button.classList.add("term-ended");
      }
    }

    ping() {
      if (Date.now() - this.lastPong > PING_EVERY + PONG_TIMEOUT) {
        this.socket.close();  // no answer: the network is gone; reconnect
        return;
      }
      this.sendJson({t: "ping"});
    }

    async disconnected(socket) {
      if (socket !== this.socket) return;
      clearInterval(this.heartbeat);
      this.socket = null;
      if (this.closing || this.ended) return;
      // A refused handshake shows scripts nothing: ask the server why.
      const refusal = socket.opened ? null : await this.whyRefused();
      if (this.closing || this.ended) return;
      if (refusal && !refusal.retry) {
        this.end(refusal.reason);
        return;
      }
      const delay = Math.min(1000 * 2 ** this.retries, 10000);
      this.retries += 1;
      if (refusal) {
        // The platform is full: say so once, and keep trying.
        if (this.refusal !== refusal.reason) {
          this.term.write("\r\n\x1b[33m[" + refusal.reason + "]\x1b[0m\r\n");
        }
        this.refusal = refusal.reason;
        this.setState(refusal.reason);
      } else {
        this.setState("Connection lost; reconnecting…");
      }
      this.retryTimer = setTimeout(async () => {
        await refreshState();
        if (session && session.status === "running") this.connect();
        else this.end("The lab is not running.");
      }, delay);
    }

    /** The server's reason for refusing this tab's socket: {reason, retry}, or null. */
    async whyRefused() {
      if (!session) return null;
      const url = new URL(session.check, window.location.href);
      url.searchParams.set("terminal", this.id);
      try {
        const answer = await fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"});
        if (!answer.ok) return null;
        const verdict = await answer.json();
        return verdict.ok ? null : verdict;
      } catch (e) {
        return null;  // offline: a plain reconnect
      }
    }

    end(reason) {
      if (this.ended) return;
      this.ended = true;
      this.term.write("\r\n\x1b[33m[" + reason + "]\x1b[0m\r\n");
      this.setState(reason);
      this.button.classList.add("term-ended");
      if (this.socket) this.socket.close();
    }

    setState(text) {
      if (this === active || !text) dockState.textContent = text;
    }

    sendBytes(bytes) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(bytes);
    }

    sendJson(message) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify(message));
      }
    }

    close() {
      this.closing = true;
      clearTimeout(this.retryTimer);
      clearInterval(this.heartbeat);
      if (this.socket) {
        this.sendJson({t: "close"});
        this.socket.close();
      }
      this.term.dispose();
      removeTab(this);
    }
  }

  // -- the lab's state ---------------------------------------------------------------------

  async function refreshState() {
    if (!launcher.dataset.stateUrl) return;  // no session to mount on (yet)
    try {
      const answer = await fetch(launcher.dataset.stateUrl, {
        headers: {Accept: "application/json"}, credentials: "same-origin",
      });
      if (!answer.ok) return;
      apply((await answer.json()).session);
    } catch (e) { /* offline for a moment: the next poll tries again */ }
  }

  function apply(next) {
    const previous = session;
    session = next;
    const running = Boolean(session && session.status === "running");
    openButton.disabled = !running;
    for (const link of webLinks) {
      const found = running && session.web.find((w) => String(w.port) === link.dataset.webPort);
      if (found) {
        link.href = found.url;
        link.classList.remove("disabled");
        link.removeAttribute("aria-disabled");
      } else {
        link.removeAttribute("href");
        link.classList.add("disabled");
        link.setAttribute("aria-disabled", "true");
      }
    }
    if (!session) statusLine.textContent = "The terminal opens when the lab is running.";
    else if (session.status === "starting") statusLine.textContent = "The lab is starting…";
    else statusLine.textContent = "";

    if (previous && (!session || session.id !== previous.id)) {
      for (const tab of tabs.slice()) tab.end("The lab has stopped.");
    }
    if (running && (!previous || previous.id !== session.id || previous.status !== "running")) {
      restoreTabs();
    }
  }

  function restoreTabs() {
    for (const tab of tabs.slice()) if (tab.ended) removeTab(tab);
    let ids = [];
    try { ids = JSON.parse(sessionStorage.getItem(storageKey()) || "[]"); } catch (e) { ids = []; }
    if (userHidDock && !ids.length) return;
    if (!ids.length) ids = [null];
    for (const id of ids.slice(0, MAX_TABS)) newTab(id || undefined);
  }

  // The lab panel announces every change of its session ("lab:session"); polling
  // is the fallback (a panel without JavaScript, a missed event).
  function schedulePoll() {
    clearTimeout(pollTimer);
    const starting = session && session.status === "starting";
    pollTimer = setTimeout(async () => {
      if (!document.hidden) await refreshState();
      schedulePoll();
    }, starting ? 2000 : 15000);
  }

  document.addEventListener("lab:session", () => refreshState().then(schedulePoll));

  // By default the reading column keeps READING_WIDTH (the page's layout fits it, menu
  // bar on one line); the terminal takes the rest, up to 45 % of the window.
  const READING_WIDTH = 720;
  const savedWidth = Number(localStorage.getItem("lms-terminal-width"));
  setWidth(savedWidth || Math.min(window.innerWidth * 0.45, window.innerWidth - READING_WIDTH));
  refreshState().then(schedulePoll);
})();
