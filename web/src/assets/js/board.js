// The order board: filters, search, sort (the form, or a click on a date column's header), paging; an
// order's detail in a side panel, its audit trail in staff words and the actions the signed-in role may
// take (the API's allowed_actions), with the API's own error messages. Cancelling asks first.

import { api } from "./api.js";
import { askFirst, byId, clear, el, formatDay, formatTime, show } from "./dom.js";
import { currentLanguage, t } from "./i18n.js";

const PAGE_SIZE = 20;
const RELOAD_DELAY_MS = 300; // events of one change come together: one reload for them all
const TRANSITIONS = new Set(["confirm", "cancel", "stock_in", "ship", "pay"]);
const ASK_FIRST = new Set(["cancel"]); // cannot be undone: a confirmation dialog first
const SORT_ARROWS = { ascending: "▲", descending: "▼", none: "↕" };

// --- staff wording: states, payment, the audit trail ------------------------------------------------

/** An internal code in words when no text names it: "record_shipment" -> "record shipment". */
export function codeWords(code) {
  return String(code ?? "").replaceAll("_", " ");
}

/** The text of ``key``, or null when the texts have none (t() answers the key itself then). */
function known(key, vars) {
  const text = t(key, vars);
  return text === key ? null : text;
}

/** An order state as staff read it ("Awaiting customer confirmation"), not the customer's wording. */
export function staffState(status) {
  return known(`state.${status}`) ?? codeWords(status);
}

export function paymentName(status) {
  return known(`payment.${status}`) ?? codeWords(status);
}

/** What an audit entry records, in words: by a customer it says so ("Confirmed by the customer"). */
export function auditAction(entry) {
  return (
    known(`audit.action.${entry.action}.${entry.actor_role}`) ??
    known(`audit.action.${entry.action}`) ??
    codeWords(entry.action)
  );
}

/** One side of an audit entry's change: a state or payment code in words, anything else as written. */
function auditValue(value) {
  if (!value) return value;
  return known(`state.${value}`) ?? known(`payment.${value}`) ?? value;
}

function auditChange(entry) {
  const change = [entry.from_value, entry.to_value]
    .filter((value) => value)
    .map(auditValue)
    .join(" → ");
  return entry.reason ? `${change} — ${entry.reason}` : change;
}

function auditActor(entry) {
  return t("audit.by", {
    actor: entry.actor,
    role: known(`audit.role.${entry.actor_role}`) ?? codeWords(entry.actor_role),
    source: known(`audit.source.${entry.source}`) ?? codeWords(entry.source),
  });
}

export function mountBoard({ token, showError }) {
  const filters = byId("board-filters");
  const rows = byId("board-rows");
  const boardError = byId("board-error");
  const detail = byId("order-detail");
  const sortSelect = filters.elements.sort;
  const orderSelect = filters.elements.order;
  let page = 1;
  let pages = 1;
  let total = 0;
  let states = [];
  let openOrderId = null;
  let carriers = null;
  let shown = { sort: sortSelect.value, order: orderSelect.value }; // what the rows are sorted by

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
          text: `${staffState(state.status)} (${state.count})`,
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
  let lastItems = [];

  async function load() {
    showError(boardError, null);
    const asked = query();
    try {
      const result = await api("/api/v1/orders", { token: token(), query: asked });
      total = result.total;
      pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
      shown = { sort: asked.sort, order: asked.order };
      lastItems = result.items;
      renderRows(result.items);
    } catch (problem) {
      showError(boardError, problem);
    }
  }

  // --- sorting by a column's header ------------------------------------------------------------------

  function renderSortHeaders() {
    for (const header of document.querySelectorAll("#board th[data-sort]")) {
      const active = header.dataset.sort === shown.sort;
      const direction = active ? (shown.order === "asc" ? "ascending" : "descending") : "none";
      if (active) header.setAttribute("aria-sort", direction);
      else header.removeAttribute("aria-sort"); // one sorted header at a time
      header.querySelector(".sort-arrow").textContent = SORT_ARROWS[direction];
      const button = header.querySelector("button");
      const column = button.querySelector("[data-i18n]").textContent;
      button.title = active
        ? `${t("board.sort_by", { column })} (${t(`board.sorted.${direction}`)})`
        : t("board.sort_by", { column });
    }
  }

  function sortBy(column) {
    if (shown.sort === column) {
      orderSelect.value = shown.order === "desc" ? "asc" : "desc";
    } else {
      sortSelect.value = column;
      orderSelect.value = "desc"; // newest first, as the form starts
    }
    page = 1;
    load();
  }

  for (const header of document.querySelectorAll("#board th[data-sort]")) {
    header.querySelector("button").addEventListener("click", () => sortBy(header.dataset.sort));
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
          attrs: {
            "data-order-id": order.order_id,
            tabindex: 0,
            "aria-current": order.order_id === openOrderId ? "true" : null,
          },
          on: { click: () => openOrder(order.order_id, null, { focus: true }) },
        },
        el("td", { text: order.order_id }),
        el("td", { text: `${order.customer_name} (${order.customer_id})` }),
        el("td", { text: staffState(order.status), attrs: { "data-status": order.status } }),
        el("td", { text: paymentName(order.payment_status) }),
        el("td", { class: "number", text: `${order.amount} ${order.currency}` }),
        el("td", { text: formatTime(order.created_at, language), attrs: { "data-time": order.created_at } }),
        el("td", { text: formatTime(order.updated_at, language), attrs: { "data-time": order.updated_at } }),
        el("td", { text: formatTime(order.paid_at, language), attrs: { "data-time": order.paid_at } }),
      );
      row.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          openOrder(order.order_id, null, { focus: true });
        }
      });
      rows.append(row);
    }
    byId("page-info").textContent = t("board.page", { page, pages, total });
    byId("page-prev").disabled = page <= 1;
    byId("page-next").disabled = page >= pages;
    renderSortHeaders();
  }

  function markOpenRow() {
    for (const row of rows.querySelectorAll("tr[data-order-id]")) {
      if (row.dataset.orderId === openOrderId) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
  }

  // --- one order, in the side panel ------------------------------------------------------------------

  let detailRequests = 0; // only the latest request for the detail may draw it
  let lastNotice = null; // {orderId, text}: the outcome of the last action, kept across refreshes

  async function openOrder(orderId, notice = null, { focus = false } = {}) {
    openOrderId = orderId;
    lastNotice = notice ? { orderId, text: notice } : null;
    markOpenRow();
    return drawDetail(orderId, { focus });
  }

  /** Redraw the open order (a notification about it arrived), keeping the last action's outcome. */
  function refreshOpenOrder() {
    const typing =
      detail.contains(document.activeElement) && document.activeElement.matches("input, select, textarea");
    const asking = document.querySelector("dialog[open]"); // never pull an order from under its dialog
    if (openOrderId && !typing && !asking) drawDetail(openOrderId);
  }

  async function drawDetail(orderId, { focus = false } = {}) {
    const request = ++detailRequests;
    const hadFocus = detail.contains(document.activeElement);
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
      detail.append(panelHead(t("detail.heading", { order: orderId })), error);
      showError(error, problem);
      openPanel();
    }
    // Into the panel when a person opened it; back into it when a redraw took the focused control away.
    const lost = hadFocus && !detail.contains(document.activeElement);
    if (focus || lost) detail.querySelector("h2")?.focus();
  }

  function openPanel() {
    show(detail, true);
    document.body.classList.add("detail-open");
  }

  function panelHead(heading) {
    return el(
      "div",
      { class: "detail-head" },
      el("h2", { text: heading, attrs: { id: "order-detail-heading", tabindex: -1 } }),
      el("button", {
        class: "close-panel",
        text: t("detail.close"),
        attrs: { type: "button", "aria-keyshortcuts": "Escape" },
        on: { click: closeDetail },
      }),
    );
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
      panelHead(t("detail.heading", { order: order.order_id })),
      el(
        "dl",
        { class: "facts" },
        ...field(t("col.customer"), `${order.customer_name} (${order.customer_id})`),
        ...field(t("col.status"), staffState(order.status)),
        ...field(t("col.payment"), paymentName(order.payment_status)),
        ...field(t("col.amount"), `${order.amount} ${order.currency}`),
        ...field(t("detail.freight"), order.freight),
        ...field(t("detail.due"), order.due_date ? formatDay(order.due_date, language) : null),
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
    detail.dataset.orderId = order.order_id;
    openPanel();
  }

  function closeDetail() {
    const closed = openOrderId;
    openOrderId = null;
    lastNotice = null;
    detailRequests++; // a detail still loading must not reopen the panel
    show(detail, false);
    document.body.classList.remove("detail-open");
    markOpenRow();
    // Back to the row the panel was opened from (redrawn since, maybe): where the person was.
    const row = closed && rows.querySelector(`tr[data-order-id="${CSS.escape(closed)}"]`);
    (row || byId("board")).focus?.();
  }

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || detail.hidden || document.querySelector("dialog[open]")) return;
    if (byId("tab-orders").hidden) return;
    event.preventDefault();
    closeDetail();
  });

  function auditTable(entries) {
    if (!entries.length) return el("p", { text: t("detail.audit.empty") });
    const language = currentLanguage();
    const body = el("tbody");
    for (const entry of entries) {
      body.append(
        el(
          "tr",
          { attrs: { "data-audit-action": entry.action } },
          el("td", { text: formatTime(entry.at, language) }),
          el("td", { text: auditActor(entry) }),
          el("td", { class: "audit-what", text: auditAction(entry) }),
          el("td", { class: "audit-change", text: auditChange(entry) }),
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
          ...["audit.at", "audit.actor", "audit.action", "audit.change"].map((k) =>
            el("th", { text: t(k), attrs: { scope: "col" } }),
          ),
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
    // ``ask``: a confirmation first (before any button is disabled, so that the dialog gives the focus
    // back to the button that opened it); dismissed, nothing happens.
    const run =
      (name, call, ask = null) =>
      async (event) => {
        event?.preventDefault();
        let answer = null;
        if (ask) {
          answer = await ask();
          if (!answer.confirmed) return;
        }
        showError(error, null);
        for (const control of box.querySelectorAll("button")) control.disabled = true;
        try {
          const result = await call(answer);
          await openOrder(order.order_id, result || t("detail.done", { action: t(`action.${name}`) }));
          load();
        } catch (problem) {
          for (const control of box.querySelectorAll("button")) control.disabled = false;
          showError(error, problem);
        }
      };
    const ifMatch = { "If-Match": `"${order.version}"` };
    const askBefore = (name) => () =>
      askFirst({
        name,
        title: t(`confirm.${name}.title`, { order: order.order_id }),
        text: t(`confirm.${name}.text`),
        confirmLabel: t(`confirm.${name}.confirm`),
        dismissLabel: t(`confirm.${name}.dismiss`),
        reasonLabel: t(`confirm.${name}.reason`),
      });
    const transition = (name) => async (answer) => {
      const body = { action: name };
      if (answer?.reason) body.reason = answer.reason;
      await api(`/api/v1/orders/${encodeURIComponent(order.order_id)}/transitions`, {
        token: token(),
        method: "POST",
        body,
        headers: ifMatch,
      });
      return null;
    };
    for (const name of order.allowed_actions) {
      if (TRANSITIONS.has(name)) {
        box.append(
          el("button", {
            class: ASK_FIRST.has(name) ? "danger" : null,
            text: t(`action.${name}`),
            attrs: {
              type: "button",
              "data-action": name,
              "aria-haspopup": ASK_FIRST.has(name) ? "dialog" : null,
            },
            on: { click: run(name, transition(name), ASK_FIRST.has(name) ? askBefore(name) : null) },
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
      renderRows(lastItems); // the dates and states in the new language at once
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
