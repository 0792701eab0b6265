// Charts of the cohort dashboard and the programme view (Chart.js, loaded before this file).
// The figures come from a JSON block in the page (#chart-data): no inline script, no fetch.
(function () {
  "use strict";
  const source = document.getElementById("chart-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const colours = {
    done: "#198754", inProgress: "#ffc107", notStarted: "#ced4da", primary: "#0d6efd", info: "#0dcaf0",
  };
  const shortLabel = (text) => (text.length > 22 ? text.slice(0, 21) + "…" : text);
  const percentAxis = { beginAtZero: true, max: 100, ticks: { callback: (v) => v + " %" } };
  // Counts of trainees or modules: whole numbers only on the axis (no "0.5 trainees").
  const countAxis = { beginAtZero: true, ticks: { precision: 0 } };
  // A module's full title (and its course) in the tooltip; the axis shows a short label.
  const fullTitle = (items) => {
    const i = items[0].dataIndex;
    const course = data.modules.courses ? data.modules.courses[i] : "";
    return data.modules.labels[i] + (course ? " (" + course + ")" : "");
  };
  const common = { responsive: true, maintainAspectRatio: false, animation: false };

  const builders = {
    modules: () => ({
      type: "bar",
      data: {
        labels: data.modules.labels.map(shortLabel),
        datasets: [
          { label: "Done", data: data.modules.done, backgroundColor: colours.done },
          { label: "In progress", data: data.modules.in_progress, backgroundColor: colours.inProgress },
          { label: "Not started", data: data.modules.not_started, backgroundColor: colours.notStarted },
        ],
      },
      options: { ...common, scales: { x: { stacked: true }, y: { ...countAxis, stacked: true } }, plugins: { tooltip: { callbacks: { title: fullTitle } } } },
    }),
    scores: () => ({
      type: "bar",
      data: {
        labels: data.modules.labels.map(shortLabel),
        datasets: [{ label: "Average best quiz score", data: data.modules.average_score, backgroundColor: colours.primary }],
      },
      options: { ...common, scales: { y: percentAxis }, plugins: { legend: { display: false }, tooltip: { callbacks: { title: fullTitle } } } },
    }),
    distribution: () => ({
      type: "bar",
      data: {
        labels: data.distribution.labels,
        datasets: [{ label: "Trainees", data: data.distribution.trainees, backgroundColor: colours.info }],
      },
      options: { ...common, scales: { y: countAxis }, plugins: { legend: { display: false } } },
    }),
    // Daily counts as bars, one per day: a smoothed line would draw values between days
    // that never happened (and dip below zero).
    activity: () => ({
      type: "bar",
      data: {
        labels: data.activity.labels.map((d) => d.slice(5)),
        datasets: [{ label: "Modules completed", data: data.activity.completions, backgroundColor: colours.done }],
      },
      options: { ...common, scales: { y: countAxis }, plugins: { legend: { display: false } } },
    }),
    programme: () => ({
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Completion", data: data.completion, backgroundColor: colours.done },
          { label: "Average quiz score", data: data.average_score, backgroundColor: colours.primary },
        ],
      },
      options: { ...common, scales: { y: percentAxis } },
    }),
  };

  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const build = builders[canvas.dataset.chart];
    if (build) {
      canvas.chart = new window.Chart(canvas, build());
    }
  });
})();
