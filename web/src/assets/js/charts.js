// The console's charts (Chart.js, loaded as /vendor/chart.umd.min.js): orders by state, imports and
// quarantined rows per day, settlements per day, how long notifications waited in the outbox, and
// conversation turns and fallbacks per day (from Rasa's events) with the day's top intents. A chart the
// signed-in role may not read is not there (nor asked for): ``shows`` says who may, as the API does.

import { api } from "./api.js";
import { staffState } from "./board.js";
import { t } from "./i18n.js";

const COLORS = ["#2f6fde", "#e0803a", "#3aa36b", "#c94f4f", "#8a63d2", "#7a8088", "#d4b13b"];
const OPERATIONS_ONLY = (_may, role) => role === "operations";
const CHARTS = {
  "by-state": {
    path: "/api/v1/stats/orders-by-state",
    draw: byState,
    shows: (may) => may.has("list_orders"),
  },
  imports: {
    path: "/api/v1/stats/imports",
    query: { days: 30 },
    draw: importsPerDay,
    shows: (may) => may.has("import"),
  },
  settlements: {
    path: "/api/v1/stats/settlements",
    query: { days: 30 },
    draw: settlementsPerDay,
    shows: (may) => may.has("settle"),
  },
  latency: {
    path: "/api/v1/stats/notification-latency",
    query: { days: 7 },
    draw: latency,
    shows: OPERATIONS_ONLY,
  },
  conversations: {
    path: "/api/v1/stats/conversations",
    query: { days: 14 },
    draw: conversations,
    shows: OPERATIONS_ONLY,
  },
};

function byState(data) {
  return {
    type: "bar",
    data: {
      labels: data.items.map((item) => staffState(item.status)),
      datasets: [
        { label: t("charts.by_state"), data: data.items.map((item) => item.count), backgroundColor: COLORS },
      ],
    },
    options: { plugins: { legend: { display: false } } },
  };
}

function importsPerDay(data) {
  return {
    type: "bar",
    data: {
      labels: data.items.map((item) => item.day.slice(5)),
      datasets: [
        {
          label: t("charts.imported_rows"),
          data: data.items.map((item) => item.rows),
          backgroundColor: COLORS[0],
        },
        {
          label: t("charts.quarantined_rows"),
          data: data.items.map((item) => item.quarantined),
          backgroundColor: COLORS[3],
        },
      ],
    },
  };
}

function settlementsPerDay(data) {
  return {
    type: "bar",
    data: {
      labels: data.items.map((item) => item.day.slice(5)),
      datasets: [
        {
          label: t("charts.settled"),
          data: data.items.map((item) => item.orders),
          backgroundColor: COLORS[2],
        },
      ],
    },
  };
}

function latency(data) {
  return {
    type: "bar",
    data: {
      labels: data.buckets.map((bucket) => bucket.label),
      datasets: [
        {
          label: t("charts.notifications"),
          data: data.buckets.map((bucket) => bucket.count),
          backgroundColor: COLORS[4],
        },
      ],
    },
    note: t("charts.latency_summary", {
      p50: data.p50_s ?? "–",
      p95: data.p95_s ?? "–",
      pending: data.pending,
    }),
  };
}

function conversations(data) {
  const latest = [...data.items].reverse().find((item) => item.turns > 0);
  return {
    type: "bar",
    data: {
      labels: data.items.map((item) => item.day.slice(5)),
      datasets: [
        { label: t("charts.turns"), data: data.items.map((item) => item.turns), backgroundColor: COLORS[0] },
        {
          label: t("charts.fallbacks"),
          data: data.items.map((item) => item.fallbacks),
          backgroundColor: COLORS[3],
        },
      ],
    },
    note: latest
      ? t("charts.conversations_summary", {
          day: latest.day,
          rate: Math.round(latest.fallback_rate * 1000) / 10,
          intents: latest.top_intents.map((item) => `${item.intent} (${item.count})`).join(", "),
        })
      : t("charts.no_conversations"),
  };
}

export function mountCharts({ token, may = new Set(), role = "" }) {
  const drawn = new Map(); // name -> Chart
  for (const figure of document.querySelectorAll("figure.chart")) {
    if (!CHARTS[figure.dataset.chart]?.shows(may, role)) figure.remove();
  }

  async function drawOne(figure) {
    const name = figure.dataset.chart;
    const spec = CHARTS[name];
    const note = figure.querySelector(".chart-note");
    const canvas = figure.querySelector("canvas");
    drawn.get(name)?.destroy();
    drawn.delete(name);
    note.textContent = "";
    try {
      const data = await api(spec.path, { token: token(), query: spec.query });
      const config = spec.draw(data);
      canvas.hidden = false;
      const chart = new window.Chart(canvas, {
        type: config.type,
        data: config.data,
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
          ...config.options,
        },
      });
      drawn.set(name, chart);
      note.textContent = config.note || "";
      figure.dataset.state = "drawn";
    } catch (problem) {
      canvas.hidden = true;
      note.textContent =
        problem.status === 403 ? t("charts.not_allowed") : t("error.prefix", { message: problem.message });
      figure.dataset.state = "unavailable";
    }
  }

  function drawAll() {
    if (!window.Chart) return;
    return Promise.all([...document.querySelectorAll("figure.chart")].map(drawOne));
  }

  document.getElementById("charts-refresh").addEventListener("click", drawAll);
  return {
    onShow: drawAll,
    onLanguage: () => {
      if (!document.getElementById("tab-charts").hidden) drawAll();
    },
  };
}
