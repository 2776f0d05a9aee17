// The order board: filters, search, sort, paging; an order's detail, its audit trail and the actions the
// signed-in role may take (the API's allowed_actions), with the API's own error messages.

import { api } from "./api.js";
import { byId, clear, el, formatTime, show } from "./dom.js";
import { currentLanguage, pick, stateName, t } from "./i18n.js";

const PAGE_SIZE = 20;
const RELOAD_DELAY_MS = 300; // events of one change come together: one reload for them all
const TRANSITIONS = new Set(["confirm", "cancel", "stock_in", "ship", "pay"]);

export function mountBoard({ token, showError }) {
  const filters = byId("board-filters");
  const rows = byId("board-rows");
  const boardError = byId("board-error");
  const detail = byId("order-detail");
  let page = 1;
  let pages = 1;
  let total = 0;
  let states = [];
  let openOrderId = null;
  let carriers = null;

  async function loadStates() {
    try {
      states = (await api("/api/v1/stats/orders-by-state", { token: token() })).items;
    } catch {
      states = [];
    }
    renderStateOptions();
  }

  function renderStateOptions() {
    const select = byId("filter-status");
    const chosen = select.value;
    clear(select).append(el("option", { text: t("board.any"), attrs: { value: "" } }));
    for (const state of states) {
      select.append(
        el("option", {
          text: `${stateName(state.status, state.label)} (${state.count})`,
          attrs: { value: state.status },
        }),
      );
    }
    select.value = chosen;
  }

  function query() {
    const form = new FormData(filters);
    return { ...Object.fromEntries(form.entries()), page, page_size: PAGE_SIZE };
  }

  let reloadTimer = null;

  async function load() {
    showError(boardError, null);
    try {
      const result = await api("/api/v1/orders", { token: token(), query: query() });
      total = result.total;
      pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
      renderRows(result.items);
    } catch (problem) {
      showError(boardError, problem);
    }
  }

  function renderRows(items) {
    clear(rows);
    const language = currentLanguage();
    if (!items.length) {
      rows.append(el("tr", {}, el("td", { text: t("board.empty"), attrs: { colspan: 8 } })));
    }
    for (const order of items) {
      const row = el(
        "tr",
        {
          class: "board-row",
          attrs: { "data-order-id": order.order_id, tabindex: 0 },
          on: { click: () => openOrder(order.order_id) },
        },
        el("td", { text: order.order_id }),
        el("td", { text: `${order.customer_name} (${order.customer_id})` }),
        el("td", {
          text: stateName(order.status, order.status_label),
          attrs: { "data-status": order.status },
        }),
        el("td", { text: pick(order.payment_label) }),
        el("td", { class: "number", text: `${order.amount} ${order.currency}` }),
        el("td", { text: formatTime(order.created_at, language) }),
        el("td", { text: formatTime(order.updated_at, language) }),
        el("td", { text: formatTime(order.paid_at, language) }),
      );
      row.addEventListener("keydown", (event) => event.key === "Enter" && openOrder(order.order_id));
      rows.append(row);
    }
    byId("page-info").textContent = t("board.page", { page, pages, total });
    byId("page-prev").disabled = page <= 1;
    byId("page-next").disabled = page >= pages;
  }

  // --- one order ------------------------------------------------------------------------------------

  let detailRequests = 0; // only the latest request for the detail may draw it
  let lastNotice = null; // {orderId, text}: the outcome of the last action, kept across refreshes

  async function openOrder(orderId, notice = null) {
    openOrderId = orderId;
    lastNotice = notice ? { orderId, text: notice } : null;
    return drawDetail(orderId);
  }

  /** Redraw the open order (a notification about it arrived), keeping the last action's outcome. */
  function refreshOpenOrder() {
    const typing =
      detail.contains(document.activeElement) && document.activeElement.matches("input, select, textarea");
    if (openOrderId && !typing) drawDetail(openOrderId); // never wipe what someone is typing
  }

  async function drawDetail(orderId) {
    const request = ++detailRequests;
    try {
      const [order, audit] = await Promise.all([
        api(`/api/v1/orders/${encodeURIComponent(orderId)}`, { token: token() }),
        api(`/api/v1/orders/${encodeURIComponent(orderId)}/audit`, { token: token() }),
      ]);
      if (request !== detailRequests) return;
      renderDetail(order, audit.items, lastNotice?.orderId === orderId ? lastNotice.text : null);
    } catch (problem) {
      if (request !== detailRequests) return;
      clear(detail);
      const error = el("p", { class: "form-error", attrs: { role: "alert" } });
      detail.append(error);
      showError(error, problem);
      show(detail, true);
    }
  }

  function field(label, value) {
    return [el("dt", { text: label }), el("dd", { text: value ?? "—" })];
  }

  function renderDetail(order, auditEntries, notice) {
    const language = currentLanguage();
    clear(detail);
    const error = el("p", { class: "form-error", attrs: { role: "alert" }, text: "" });
    error.hidden = true;
    detail.append(
      el(
        "div",
        { class: "detail-head" },
        el("h2", { text: t("detail.heading", { order: order.order_id }) }),
        el("button", {
          class: "link",
          text: t("detail.close"),
          attrs: { type: "button" },
          on: { click: closeDetail },
        }),
      ),
      el(
        "dl",
        { class: "facts" },
        ...field(t("col.customer"), `${order.customer_name} (${order.customer_id})`),
        ...field(t("col.status"), pick(order.status_label)),
        ...field(t("col.payment"), pick(order.payment_label)),
        ...field(t("col.amount"), `${order.amount} ${order.currency}`),
        ...field(t("detail.freight"), order.freight),
        ...field(t("detail.due"), order.due_date),
        ...field(t("detail.shipment"), order.carrier ? `${order.carrier} ${order.tracking_number}` : null),
        ...field(t("col.created"), formatTime(order.created_at, language)),
        ...field(t("col.updated"), formatTime(order.updated_at, language)),
        ...field(t("col.paid"), formatTime(order.paid_at, language)),
      ),
      el("h3", { text: t("detail.actions") }),
      actionsFor(order, error),
      error,
    );
    if (notice) detail.append(el("p", { class: "notice", text: notice, attrs: { role: "status" } }));
    detail.append(el("h3", { text: t("detail.audit") }), auditTable(auditEntries));
    show(detail, true);
  }

  function closeDetail() {
    openOrderId = null;
    lastNotice = null;
    show(detail, false);
  }

  function auditTable(entries) {
    if (!entries.length) return el("p", { text: t("detail.audit.empty") });
    const body = el("tbody");
    for (const entry of entries) {
      const change = [entry.from_value, entry.to_value].filter((v) => v).join(" → ");
      body.append(
        el(
          "tr",
          {},
          el("td", { text: formatTime(entry.at, currentLanguage()) }),
          el("td", { text: `${entry.actor} (${entry.actor_role}, ${entry.source})` }),
          el("td", { text: entry.action }),
          el("td", { text: entry.reason ? `${change} — ${entry.reason}` : change }),
        ),
      );
    }
    return el(
      "table",
      { class: "audit" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...["audit.at", "audit.actor", "audit.action", "audit.change"].map((k) => el("th", { text: t(k) })),
        ),
      ),
      body,
    );
  }

  function actionsFor(order, error) {
    const box = el("div", { class: "actions" });
    if (!order.allowed_actions.length) {
      box.append(el("p", { text: t("detail.no_actions") }));
      return box;
    }
    const run = (name, call) => async (event) => {
      event?.preventDefault();
      showError(error, null);
      for (const control of box.querySelectorAll("button")) control.disabled = true;
      try {
        const result = await call();
        await openOrder(order.order_id, result || t("detail.done", { action: t(`action.${name}`) }));
        load();
      } catch (problem) {
        for (const control of box.querySelectorAll("button")) control.disabled = false;
        showError(error, problem);
      }
    };
    const ifMatch = { "If-Match": `"${order.version}"` };
    for (const name of order.allowed_actions) {
      if (TRANSITIONS.has(name)) {
        box.append(
          el("button", {
            text: t(`action.${name}`),
            attrs: { type: "button", "data-action": name },
            on: {
              click: run(name, () =>
                api(`/api/v1/orders/${encodeURIComponent(order.order_id)}/transitions`, {
                  token: token(),
                  method: "POST",
                  body: { action: name },
                  headers: ifMatch,
                }).then(() => null),
              ),
            },
          }),
        );
      } else if (name === "record_shipment") {
        box.append(shipmentForm(order, ifMatch, run));
      } else if (name === "settle" && order.due_date) {
        box.append(
          el("button", {
            text: `${t("action.settle")}: ${t("detail.settle_for", { day: order.due_date })}`,
            attrs: { type: "button", "data-action": "settle" },
            on: {
              click: run("settle", async () => {
                const report = await api("/api/v1/settlements", {
                  token: token(),
                  method: "POST",
                  body: { date: order.due_date },
                });
                return t("detail.settled_report", { day: report.settlement_day, orders: report.orders });
              }),
            },
          }),
        );
      }
    }
    return box;
  }

  function shipmentForm(order, ifMatch, run) {
    const carrier = el("select", { attrs: { name: "carrier", required: true } });
    const tracking = el("input", {
      attrs: { name: "tracking_number", required: true, maxlength: 64, value: order.tracking_number || "" },
    });
    const form = el(
      "form",
      { class: "shipment-form", attrs: { "data-action": "record_shipment" } },
      el("label", {}, el("span", { text: t("detail.carrier") }), carrier),
      el("label", {}, el("span", { text: t("detail.tracking") }), tracking),
      el("button", { text: t("action.record_shipment"), attrs: { type: "submit" } }),
    );
    loadCarriers().then((items) => {
      for (const item of items) {
        carrier.append(el("option", { text: item.name, attrs: { value: item.name } }));
      }
      if (order.carrier) carrier.value = order.carrier;
      carrier.addEventListener("change", () => {
        const example = items.find((c) => c.name === carrier.value)?.tracking_example;
        tracking.placeholder = example || "";
      });
      carrier.dispatchEvent(new Event("change"));
    });
    form.addEventListener(
      "submit",
      run("record_shipment", () =>
        api(`/api/v1/orders/${encodeURIComponent(order.order_id)}/shipment`, {
          token: token(),
          method: "PUT",
          body: { carrier: carrier.value, tracking_number: tracking.value.trim() },
          headers: ifMatch,
        }).then(() => null),
      ),
    );
    return form;
  }

  async function loadCarriers() {
    if (!carriers) carriers = (await api("/api/v1/carriers")).items;
    return carriers;
  }

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    page = 1;
    load();
  });
  byId("page-prev").addEventListener("click", () => {
    page = Math.max(1, page - 1);
    load();
  });
  byId("page-next").addEventListener("click", () => {
    page = Math.min(pages, page + 1);
    load();
  });

  loadStates();
  load();
  return {
    onShow: () => {
      loadStates();
      load();
    },
    onLanguage: () => {
      renderStateOptions();
      load();
      refreshOpenOrder();
    },
    onEvent: (event) => {
      if (!event.order_id) return;
      if (event.order_id === openOrderId) refreshOpenOrder();
      // A listed order changed: redraw the page, once for a burst of events (a settlement run).
      if (rows.querySelector(`tr[data-order-id="${CSS.escape(event.order_id)}"]`)) {
        clearTimeout(reloadTimer);
        reloadTimer = setTimeout(load, RELOAD_DELAY_MS);
      }
    },
  };
}
