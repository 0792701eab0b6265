/* Read-only live view of a trainee's terminals (staff): each [data-watch-socket]
 * element gets an xterm fed by the recording as it is written. */
(function () {
  "use strict";
  if (!window.Terminal) return;
  for (const box of document.querySelectorAll("[data-watch-socket]")) {
    const status = box.parentElement.querySelector("[data-watch-status]");
    const term = new window.Terminal({
      cols: Number(box.dataset.cols) || 80, rows: Number(box.dataset.rows) || 24,
      disableStdin: true, cursorBlink: false, scrollback: 5000, fontSize: 13,
      theme: {background: "#1e1e1e"},
    });
    term.open(box);
    const url = new URL(box.dataset.watchSocket, window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url.toString());
    socket.binaryType = "arraybuffer";
    if (status) status.textContent = "connecting…";
    socket.addEventListener("open", () => { if (status) status.textContent = "live"; });
    socket.addEventListener("message", (event) => {
      if (event.data instanceof ArrayBuffer) {
        term.write(new Uint8Array(event.data));
        return;
      }
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.t === "resize") term.resize(message.cols, message.rows);
      else if (message.t === "exit") {
        term.write("\r\n\x1b[33m[" + message.reason + "]\x1b[0m\r\n");
        if (status) status.textContent = "ended";
      }
    });
    socket.addEventListener("close", () => {
      if (status && status.textContent !== "ended") status.textContent = "disconnected: reload to watch again";
    });
    box.lmsTerminal = term;
  }
})();
