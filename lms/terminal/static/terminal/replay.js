/* Replays of recorded terminals with asciinema-player; a command in the task
 * list jumps its recording to the moment it was typed. */
(function () {
  "use strict";
  if (!window.AsciinemaPlayer) return;
  const players = {};
  for (const box of document.querySelectorAll("[data-cast-url]")) {
    players[box.dataset.recording] = window.AsciinemaPlayer.create(box.dataset.castUrl, box, {
      fit: "width", idleTimeLimit: 2, preload: true, terminalFontSize: "small",
    });
  }
  window.lmsPlayers = players;
  for (const button of document.querySelectorAll("[data-seek-recording]")) {
    button.addEventListener("click", async () => {
      const player = players[button.dataset.seekRecording];
      if (!player) return;
      const box = document.querySelector('[data-recording="' + button.dataset.seekRecording + '"]');
      box.scrollIntoView({behavior: "smooth", block: "center"});
      await player.seek(Math.max(0, Number(button.dataset.seekOffset) - 1));
      player.play();
    });
  }
})();
