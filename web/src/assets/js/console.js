// The staff console: sign in, then the order board, handoffs, imports, charts and the live feed. The
// tabs follow the role: GET /api/v1/me says what it may do, and a tab it may not use is not there.

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
// What each tab needs of /api/v1/me's "may" (a role without it never sees the tab nor its panel).
// Handoffs are operations' work: "handoffs" names it where the server lists it, else the role does.
const TAB_NEEDS = {
  orders: (may) => may.has("list_orders"),
  handoffs: (may, role) => may.has("handoffs") || role === "operations",
  import: (may) => may.has("import"),
  charts: () => true,
};

const feed = byId("feed");

function renderHubState() {
  byId("hub-status").textContent = t(...hubState);
}

function feedHeading(event) {
  const role = event.recipient_role ? t(`role.${event.recipient_role}`) : "";
  return [event.order_id, role].filter(Boolean).join(" · ");
}

/** A staff role in the current language ("operations", "运营"). */
function roleName(role) {
  const key = `audit.role.${role}`;
  const text = t(key);
  return text === key ? role : text;
}

function showWhoAmI() {
  const role = roleName(session.role);
  byId("whoami").textContent = t("console.signed_in", { subject: session.subject, role });
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

function tabButtons() {
  return [...document.querySelectorAll("[role=tab][data-tab]")];
}

function selectTab(name, { focus = false } = {}) {
  for (const button of tabButtons()) {
    const selected = button.dataset.tab === name;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1; // one tab stop for the tab list; arrows move within it
    if (selected && focus) button.focus();
  }
  for (const panel of document.querySelectorAll(".tab-panel")) show(panel, panel.id === `tab-${name}`);
  for (const part of parts) if (part.tab === name) part.onShow?.();
}

/** The ARIA tab list's keys: Left/Right (wrapping), Home and End move to a tab and show it. */
function onTabKey(event) {
  const buttons = tabButtons();
  const at = buttons.indexOf(event.target);
  if (at < 0) return;
  const next = {
    ArrowRight: (at + 1) % buttons.length,
    ArrowLeft: (at - 1 + buttons.length) % buttons.length,
    Home: 0,
    End: buttons.length - 1,
  }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  selectTab(buttons[next].dataset.tab, { focus: true });
}

/** The Handoffs tab's badge: the unread customer messages of all open tickets. */
function setUnread(total) {
  const badge = document.getElementById("handoffs-unread");
  if (!badge) return;
  badge.dataset.unread = String(total);
  badge.querySelector(".badge-count").textContent = String(total);
  badge.querySelector(".badge-label").textContent = t("handoffs.tab_unread", { count: total });
  show(badge, total > 0);
}

/** What the signed-in role may do (GET /api/v1/me); from the role alone if the service cannot say. */
async function capabilitiesOf() {
  try {
    const me = await api("/api/v1/me", { token: session.token });
    return new Set(me.may);
  } catch (problem) {
    if (problem instanceof ApiError && problem.status === 401) throw problem;
    const fallback = { operations: ["list_orders", "import", "settle"], finance: ["list_orders", "settle"] };
    return new Set(fallback[session.role] || ["list_orders"]);
  }
}

async function startWorkspace() {
  let may;
  try {
    may = await capabilitiesOf();
  } catch {
    signOut(); // the stored sign-in is no longer accepted
    return;
  }
  const allowed = Object.keys(TAB_NEEDS).filter((tab) => TAB_NEEDS[tab](may, session.role));
  for (const button of tabButtons()) {
    if (allowed.includes(button.dataset.tab)) continue;
    button.remove(); // a tab the role may not use is not there at all, nor its panel
    document.getElementById(`tab-${button.dataset.tab}`)?.remove();
  }
  show(byId("signin-form"), false);
  show(byId("signout"), true);
  showWhoAmI();
  const context = { token: () => session.token, role: session.role, may, showError, setUnread };
  const mounts = { orders: mountBoard, handoffs: mountHandoffs, import: mountImport, charts: mountCharts };
  for (const tab of allowed) parts.push({ tab, ...mounts[tab](context) });
  for (const button of tabButtons()) {
    button.addEventListener("click", () => selectTab(button.dataset.tab));
    button.addEventListener("keydown", onTabKey);
  }
  show(byId("workspace"), true);
  selectTab(allowed[0]);
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

/** The top bar's height as --topbar-height: the order panel starts below it. */
function measureTopbar() {
  const bar = document.querySelector(".topbar");
  if (bar) document.documentElement.style.setProperty("--topbar-height", `${bar.offsetHeight}px`);
}

translatePage(); // texts, placeholders and aria-labels
measureTopbar();
window.addEventListener("resize", measureTopbar);
mountLanguageSwitch(byId("language-switch"));
onLanguageChange(() => {
  measureTopbar();
  renderHubState();
  if (session) showWhoAmI();
  for (const item of feed.children) {
    const event = JSON.parse(item.dataset.event || "{}");
    item.querySelector(".feed-order").textContent = feedHeading(event);
    item.querySelector(".feed-text").textContent = pick(event.message);
    const time = item.querySelector("time");
    time.textContent = formatTime(time.getAttribute("datetime"), currentLanguage());
  }
  const badge = document.getElementById("handoffs-unread");
  if (badge?.dataset.unread) setUnread(Number(badge.dataset.unread));
  for (const part of parts) part.onLanguage?.();
});
byId("signin-form").addEventListener("submit", submitSignIn);
byId("signout").addEventListener("click", signOut);
if (session) startWorkspace();
