// The staff console: sign in, then the order board, handoffs, imports, charts and the live feed.

import { api, ApiError } from "./api.js";
import { byId, el, formatTime, show } from "./dom.js";
import { startPageHub } from "./hub.js";
import {
  currentLanguage,
  mountLanguageSwitch,
  onLanguageChange,
  pick,
  t,
  tooManyAttempts,
  translatePage,
} from "./i18n.js";
import { mountBoard } from "./board.js";
import { mountCharts } from "./charts.js";
import { mountHandoffs } from "./handoffs.js";
import { mountImport } from "./imports.js";

const SIGN_IN_KEY = "orderbot.staff";
const FEED_LIMIT = 200;

/** Show an error (an ApiError's message from the API, or anything else) in a role="alert" element. */
export function showError(node, problem) {
  if (!problem) {
    node.textContent = "";
    show(node, false);
    return;
  }
  const message = problem instanceof ApiError || problem instanceof Error ? problem.message : String(problem);
  node.textContent = t("error.prefix", { message });
  show(node, true);
}

function readSignIn() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(SIGN_IN_KEY) || "null");
    return stored && stored.token && stored.expiresAt > Date.now() ? stored : null;
  } catch {
    return null;
  }
}

let session = readSignIn(); // {token, role, subject, expiresAt}
let hub = null;
const parts = [];
let hubState = ["hub.connecting"];

const feed = byId("feed");

function renderHubState() {
  byId("hub-status").textContent = t(...hubState);
}

function feedHeading(event) {
  const role = event.recipient_role ? t(`role.${event.recipient_role}`) : "";
  return [event.order_id, role].filter(Boolean).join(" · ");
}

function addToFeed(event) {
  const item = el(
    "li",
    { class: `feed-item feed-${event.event_type}`, attrs: { "data-event-id": event.id } },
    el("time", { text: formatTime(event.time, currentLanguage()), attrs: { datetime: event.time } }),
    el("span", { class: "feed-order", text: feedHeading(event) }),
    el("span", { class: "feed-text", text: pick(event.message) }),
  );
  item.dataset.event = JSON.stringify({
    order_id: event.order_id,
    recipient_role: event.recipient_role,
    message: event.message,
  });
  feed.prepend(item);
  while (feed.children.length > FEED_LIMIT) feed.lastElementChild.remove();
  for (const part of parts) part.onEvent?.(event);
}

function startHub() {
  hub = startPageHub({
    token: session.token,
    subject: session.subject,
    onEvent: addToFeed,
    onStatus: (status) => {
      hubState = status;
      renderHubState();
    },
  });
}

function selectTab(name) {
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === name));
  }
  for (const panel of document.querySelectorAll(".tab-panel")) show(panel, panel.id === `tab-${name}`);
  for (const part of parts) if (part.tab === name) part.onShow?.();
}

function startWorkspace() {
  show(byId("signin-form"), false);
  show(byId("workspace"), true);
  show(byId("signout"), true);
  byId("whoami").textContent = t("console.signed_in", { subject: session.subject, role: session.role });
  const context = { token: () => session.token, role: session.role, showError };
  parts.push(
    { tab: "orders", ...mountBoard(context) },
    { tab: "handoffs", ...mountHandoffs(context) },
    { tab: "import", ...mountImport(context) },
    { tab: "charts", ...mountCharts(context) },
  );
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => selectTab(button.dataset.tab));
  }
  selectTab("orders");
  startHub();
  renderHubState();
}

async function submitSignIn(event) {
  event.preventDefault();
  const error = byId("signin-error");
  showError(error, null);
  try {
    const token = await api("/api/v1/auth/token", {
      method: "POST",
      body: { username: byId("signin-user").value.trim(), password: byId("signin-password").value },
    });
    if (token.role === "customer") throw new Error("customers use the chat page");
    session = {
      token: token.access_token,
      role: token.role,
      subject: token.subject,
      expiresAt: Date.now() + token.expires_in * 1000,
    };
    sessionStorage.setItem(SIGN_IN_KEY, JSON.stringify(session));
    byId("signin-password").value = "";
    startWorkspace();
  } catch (problem) {
    const throttled = problem instanceof ApiError && problem.status === 429;
    showError(error, throttled ? tooManyAttempts(problem) : problem);
  }
}

function signOut() {
  hub?.stop();
  sessionStorage.removeItem(SIGN_IN_KEY);
  window.location.reload();
}

translatePage();
mountLanguageSwitch(byId("language-switch"));
onLanguageChange(() => {
  renderHubState();
  if (session)
    byId("whoami").textContent = t("console.signed_in", { subject: session.subject, role: session.role });
  for (const item of feed.children) {
    const event = JSON.parse(item.dataset.event || "{}");
    item.querySelector(".feed-order").textContent = feedHeading(event);
    item.querySelector(".feed-text").textContent = pick(event.message);
  }
  for (const part of parts) part.onLanguage?.();
});
byId("signin-form").addEventListener("submit", submitSignIn);
byId("signout").addEventListener("click", signOut);
if (session) startWorkspace();
