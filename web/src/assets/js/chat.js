// The customer chat page: sign in with an order number and e-mail or phone, talk to Rasa over socket.io
// (the token rides in customData, never in a URL), and show live notifications from the order hub.
//
// The sign-in and the conversation's id are kept in localStorage, so that a reload or a new tab goes on
// with the same conversation: the order service gives it back (GET /api/v1/me/conversation, read from
// Rasa's tracker, only ever the signed-in customer's own). While a person handles a handoff ticket the
// bot is paused, so what the customer writes goes to the order service, which pushes it to the console.
// Nothing typed is lost while the assistant cannot be reached: it waits in this tab and is sent, in
// order, when the connection is back.

import { io } from "/vendor/socket.io.esm.min.js";
import { api, ApiError } from "./api.js";
import { byId, el, localeFor, meta, show } from "./dom.js";
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

const SIGN_IN_KEY = "orderbot.customer";
const conversationKey = (subject) => `orderbot.conversation.${subject}`;
const unsentKey = (subject) => `orderbot.unsent.${subject}`;
// Longer than a reply phrased by a slow model takes (the action server waits up to 20 s for it).
const ANSWER_WITHIN_MS = 45000;

const page = {
  signinForm: byId("signin-form"),
  signinError: byId("signin-error"),
  conversation: byId("conversation"),
  signedInAs: byId("signed-in-as"),
  log: byId("message-log"), // the scrolling region screen readers follow
  messages: byId("messages"),
  starters: byId("starters"),
  composer: byId("composer"),
  composerText: byId("composer-text"),
  botStatus: byId("bot-status"),
  hubStatus: byId("hub-status"),
  offline: byId("offline-banner"),
};

let signIn = readSignIn(); // {token, orderId, subject, expiresAt}
let bot = null; // socket.io connection to Rasa
let hub = null;
let sessionId = null;
let sessionReady = false;
let unreachable = false; // a connection attempt failed or was lost: the banner says so (not while connecting)
let botState = ["chat.bot.connecting"];
let hubState = ["hub.connecting"];
let handoff = null; // {ticketId, joined}: a person handles this conversation, the bot is paused
let outgoing = []; // messages not yet answered or delivered: {id, text, shown, state, node, timer}
let typing = null;
const shownEvents = new Set(); // outbox ids already on screen (a replay or a restore may bring them again)

function readSignIn() {
  try {
    const stored = JSON.parse(localStorage.getItem(SIGN_IN_KEY) || "null");
    return stored && stored.token && stored.expiresAt > Date.now() ? stored : null;
  } catch {
    return null;
  }
}

// --- messages ---------------------------------------------------------------------------------------

// An http(s) address in a message (an invoice's PDF, a carrier's tracking page) becomes a link that
// opens in a new tab; everything else stays text (never HTML).
const LINK = /https?:\/\/[^\s<>"'）)，。]+/g;

function withLinks(node, text) {
  const value = text === undefined || text === null ? "" : String(text);
  let last = 0;
  for (const match of value.matchAll(LINK)) {
    node.append(document.createTextNode(value.slice(last, match.index)));
    node.append(
      el("a", { text: match[0], attrs: { href: match[0], target: "_blank", rel: "noopener noreferrer" } }),
    );
    last = match.index + match[0].length;
  }
  node.append(document.createTextNode(value.slice(last)));
  return node;
}

function clockTime(time) {
  const date = new Date(time);
  const locale = localeFor(currentLanguage());
  const sameDay = date.toDateString() === new Date().toDateString();
  return date.toLocaleString(locale, {
    ...(sameDay ? {} : { month: "short", day: "numeric" }),
    hour: "2-digit",
    minute: "2-digit",
  });
}

const SPEAKERS = {
  user: "chat.speaker.you",
  bot: "chat.speaker.bot",
  staff: "chat.staff",
  notice: "chat.notice",
  error: "chat.notice",
};

/** One message: who said it (read out by screen readers; shown for staff and updates), what, when. */
function addMessage(kind, text, { time, buttons } = {}) {
  const at = time ? new Date(time) : new Date();
  const item = el("li", {
    class: `msg msg-${kind}`,
    attrs: { "data-kind": kind, "data-at": at.toISOString() },
  });
  const visibleLabel = kind === "staff" || kind === "notice";
  item.append(
    el("span", {
      class: visibleLabel ? "msg-label" : "msg-label visually-hidden",
      text: t(SPEAKERS[kind]),
      attrs: { "data-speaker": SPEAKERS[kind] },
    }),
  );
  item.append(withLinks(el("span", { class: "msg-text" }), text));
  item.append(el("time", { class: "msg-time", text: clockTime(at), attrs: { datetime: at.toISOString() } }));
  if (buttons && buttons.length) {
    const row = el("div", { class: "msg-buttons", attrs: { role: "group" } });
    for (const button of buttons) {
      row.append(
        el("button", {
          text: button.title,
          attrs: { type: "button" },
          on: { click: () => say(button.payload || button.title, button.title) },
        }),
      );
    }
    item.append(row);
  }
  page.messages.insertBefore(item, typing && typing.parentNode === page.messages ? typing : null);
  page.log.scrollTop = page.log.scrollHeight;
  if (kind !== "notice" && kind !== "error") show(page.starters, false); // the talk has begun
  return item;
}

function relabel() {
  for (const node of page.messages.querySelectorAll("[data-speaker]"))
    node.textContent = t(node.dataset.speaker);
  for (const node of page.messages.querySelectorAll("time.msg-time"))
    node.textContent = clockTime(node.getAttribute("datetime"));
  for (const message of outgoing) markState(message, message.state);
}

function renderStatus() {
  const status = handoff
    ? [handoff.joined ? "chat.handoff.joined" : "chat.handoff.waiting", { ticket: handoff.ticketId }]
    : botState;
  page.botStatus.textContent = t(...status);
  page.hubStatus.textContent = t(...hubState);
  show(page.offline, !handoff && unreachable && !sessionReady);
}

function showTyping(on) {
  if (on && !typing) {
    typing = el(
      "li",
      { class: "msg msg-typing", attrs: { "aria-label": t("chat.typing") } },
      el("span", { class: "visually-hidden", text: t("chat.typing") }),
      el("span", { class: "dots", attrs: { "aria-hidden": "true" } }, el("i"), el("i"), el("i")),
    );
    page.messages.append(typing);
    page.log.scrollTop = page.log.scrollHeight;
  } else if (!on && typing) {
    typing.remove();
    typing = null;
  }
}

// --- what the customer sends: queued, sending, sent, failed -----------------------------------------

function markState(message, state) {
  message.state = state;
  const holder = message.node.querySelector(".msg-state");
  holder.replaceChildren(el("span", { text: t(`chat.state.${state}`) }));
  holder.dataset.state = state;
  holder.hidden = false;
  if (state === "sent") {
    // "Sent" under the latest delivered message only, as chat apps do: not a column of them.
    for (const older of page.messages.querySelectorAll('.msg-state[data-state="sent"]')) {
      if (older !== holder) older.hidden = true;
    }
  }
  if (state === "failed" || state === "unanswered") {
    holder.append(
      el("button", {
        class: "link retry",
        text: t("chat.retry"),
        attrs: { type: "button" },
        on: { click: () => deliver(message) },
      }),
    );
  }
  saveUnsent();
}

function saveUnsent() {
  if (!signIn) return;
  const waiting = outgoing
    .filter((m) => m.state === "queued")
    .map(({ id, text, shown }) => ({ id, text, shown }));
  sessionStorage.setItem(unsentKey(signIn.subject), JSON.stringify(waiting));
}

function say(text, shown = text) {
  if (signIn && signIn.expiresAt <= Date.now()) {
    // The assistant would refuse the token and ask for proof again and again: sign in afresh (the
    // conversation is kept: the same customer gets it back).
    signOut({ forget: false });
    page.signinError.textContent = t("chat.expired");
    show(page.signinError, true);
    return false;
  }
  if (!signIn) return false;
  deliver(showOwn({ id: crypto.randomUUID(), text, shown }));
  return true;
}

/** One of the customer's messages on screen, with its delivery state, until it is delivered. */
function showOwn({ id, text, shown }) {
  const message = { id, text, shown, state: "queued" };
  message.node = addMessage("user", shown);
  message.node.append(el("span", { class: "msg-state", attrs: { "aria-live": "off" } }));
  outgoing.push(message);
  return message;
}

function deliver(message) {
  clearTimeout(message.timer);
  if (handoff) {
    // Staff read what the customer saw: a button's title, not the intent it stands for.
    toStaff(message, handoff.ticketId);
    return;
  }
  if (!bot || !sessionReady) {
    markState(message, "queued"); // sent by flushQueued() when the assistant is reachable again
    return;
  }
  markState(message, "sending");
  showTyping(true);
  bot.emit("user_uttered", {
    message: message.text,
    session_id: sessionId,
    customData: { token: signIn.token },
  });
  message.timer = setTimeout(() => {
    if (message.state === "sending") {
      markState(message, "unanswered");
      showTyping(false);
    }
  }, ANSWER_WITHIN_MS);
}

async function toStaff(message, ticketId) {
  markState(message, "sending");
  try {
    await api(`/api/v1/handoffs/${ticketId}/messages`, {
      method: "POST",
      token: signIn.token,
      body: { message: message.shown },
      headers: { "Idempotency-Key": message.id }, // a retry after a lost answer is not a second message
    });
    markState(message, "sent");
    forget(message);
  } catch (problem) {
    if (problem instanceof ApiError && (problem.status === 409 || problem.status === 404)) {
      // The ticket was closed meanwhile: the assistant answers this conversation again.
      endHandoff();
      deliver(message);
      return;
    }
    markState(message, "failed");
  }
}

function forget(message) {
  clearTimeout(message.timer);
  outgoing = outgoing.filter((m) => m !== message);
  saveUnsent();
}

function flushQueued() {
  for (const message of outgoing.filter((m) => m.state === "queued")) deliver(message);
}

/** The bot answered: what was being sent has arrived. */
function answered() {
  showTyping(false);
  for (const message of outgoing.filter((m) => m.state === "sending" || m.state === "unanswered")) {
    markState(message, "sent");
    forget(message);
  }
}

function restoreUnsent() {
  let waiting = [];
  try {
    waiting = JSON.parse(sessionStorage.getItem(unsentKey(signIn.subject)) || "[]");
  } catch {
    waiting = [];
  }
  for (const unsent of waiting) markState(showOwn(unsent), "queued");
}

// --- Rasa over socket.io ------------------------------------------------------------------------------

function connectBot() {
  const rasaUrl = meta("orderbot-rasa-url");
  // WebSocket only: no long-polling, so no cross-origin HTTP requests to Rasa are needed.
  bot = io(rasaUrl, { path: "/socket.io", transports: ["websocket"], reconnectionDelayMax: 5000 });
  bot.on("connect", () => {
    sessionReady = false;
    bot.emit("session_request", { session_id: sessionId });
  });
  bot.on("session_confirm", (confirmed) => {
    sessionId = typeof confirmed === "string" ? confirmed : confirmed?.session_id || sessionId;
    localStorage.setItem(conversationKey(signIn.subject), sessionId);
    sessionReady = true;
    unreachable = false;
    botState = ["chat.bot.online"];
    renderStatus();
    flushQueued();
  });
  bot.on("bot_uttered", (message) => {
    answered();
    if (message.error) {
      addMessage("error", t("chat.bot_error", { text: message.text || "" }));
      return;
    }
    const buttons = message.quick_replies || message.buttons || [];
    if (message.text) addMessage("bot", message.text, { buttons });
    else if (message.attachment?.payload?.src) addMessage("bot", message.attachment.payload.src);
  });
  bot.on("connect_error", () => {
    sessionReady = false;
    unreachable = true;
    botState = ["chat.bot.offline"];
    renderStatus();
  });
  bot.on("disconnect", () => {
    sessionReady = false;
    unreachable = true;
    botState = ["chat.bot.offline"];
    showTyping(false);
    renderStatus();
  });
}

// --- notifications from the order hub -----------------------------------------------------------------

function ours(event) {
  const conversation = event.data?.conversation_id;
  return !conversation || conversation === sessionId;
}

function endHandoff() {
  handoff = null;
  renderStatus();
}

function showNotification(event, { restoring = false } = {}) {
  if (typeof event.id === "number") {
    if (shownEvents.has(event.id)) return;
    shownEvents.add(event.id);
  }
  const time = event.time || event.created_at;
  switch (event.event_type) {
    case "handoff_opened": // the assistant has just said which ticket: the status line says the rest
      if (ours(event) && !restoring) handoff = { ticketId: event.data.ticket_id, joined: false };
      break;
    case "handoff_joined":
      if (ours(event) && !restoring && handoff) handoff.joined = true;
      addMessage("notice", pick(event.message), { time });
      break;
    case "handoff_closed":
      if (ours(event) && !restoring && handoff?.ticketId === event.data.ticket_id) endHandoff();
      addMessage("notice", pick(event.message), { time });
      break;
    case "handoff_reply":
      addMessage("staff", pick(event.message), { time });
      break;
    default:
      addMessage("notice", pick(event.message), { time });
  }
  renderStatus();
}

function startHub(after) {
  hub = startPageHub({
    token: signIn.token,
    subject: signIn.subject,
    after,
    onEvent: (event) => showNotification(event),
    onStatus: (status) => {
      hubState = status;
      renderStatus();
    },
  });
}

// --- the conversation so far --------------------------------------------------------------------------

/** Put back what was said in this conversation (and what the customer was sent meanwhile); the id
 * of the newest notification shown, for the hub to go on after (null for none). */
async function restoreConversation() {
  if (!sessionId) return null;
  let history;
  try {
    history = await api("/api/v1/me/conversation", {
      token: signIn.token,
      query: { conversation_id: sessionId },
    });
  } catch (problem) {
    if (problem instanceof ApiError && problem.status === 404) {
      // Not this customer's (or gone): a conversation of their own starts.
      localStorage.removeItem(conversationKey(signIn.subject));
      sessionId = null;
    } else {
      addMessage("notice", t("chat.history_unavailable"));
    }
    return null;
  }
  if (!history.available) addMessage("notice", t("chat.history_unavailable"));
  const items = [
    ...history.messages.map((m) => ({ at: m.at, message: m })),
    ...history.notifications.map((n) => ({ at: n.created_at, event: n })),
  ].sort((a, b) => new Date(a.at) - new Date(b.at));
  for (const item of items) {
    if (item.event) showNotification(item.event, { restoring: true });
    else {
      const { speaker, text, at, buttons } = item.message;
      addMessage(speaker === "customer" ? "user" : "bot", text, { time: at, buttons });
    }
  }
  handoff = history.handoff ? { ticketId: history.handoff.ticket_id, joined: history.handoff.joined } : null;
  renderStatus();
  return history.last_event_id;
}

// --- signing in and out -------------------------------------------------------------------------------

async function submitSignIn(event) {
  event.preventDefault();
  show(page.signinError, false);
  const orderId = byId("signin-order").value.trim();
  const contact = byId("signin-contact").value.trim();
  const body = { order_id: orderId, ...(contact.includes("@") ? { email: contact } : { phone: contact }) };
  try {
    const token = await api("/api/v1/auth/customer", { method: "POST", body });
    signIn = {
      token: token.access_token,
      subject: token.subject,
      orderId: orderId.toUpperCase(),
      expiresAt: Date.now() + token.expires_in * 1000,
    };
    localStorage.setItem(SIGN_IN_KEY, JSON.stringify(signIn));
    startConversation();
  } catch (problem) {
    const throttled = problem instanceof ApiError && problem.status === 429;
    const message = problem instanceof ApiError ? problem.message : String(problem);
    page.signinError.textContent = throttled ? tooManyAttempts(problem) : message;
    show(page.signinError, true);
  }
}

async function startConversation() {
  show(page.signinForm, false);
  show(page.conversation, true);
  page.signedInAs.textContent = t("chat.signed_in", { order: signIn.orderId });
  sessionId = localStorage.getItem(conversationKey(signIn.subject));
  page.messages.replaceChildren();
  addMessage("bot", t("chat.welcome"));
  show(page.starters, true);
  renderStatus();
  const shownThrough = await restoreConversation();
  restoreUnsent();
  if (!bot) connectBot();
  startHub(shownThrough);
  renderStatus();
  page.composerText.focus();
}

/** Sign out; ``forget`` (the Sign out button): this browser no longer keeps the conversation. */
function signOut({ forget = true } = {}) {
  hub?.stop();
  hub = null;
  bot?.disconnect();
  bot = null;
  if (signIn && forget) {
    // Signing out on a shared computer: the next person must not get this conversation back.
    localStorage.removeItem(conversationKey(signIn.subject));
    sessionStorage.removeItem(unsentKey(signIn.subject));
  }
  signIn = null;
  localStorage.removeItem(SIGN_IN_KEY);
  sessionId = null;
  sessionReady = false;
  unreachable = false;
  handoff = null;
  outgoing = [];
  typing = null;
  shownEvents.clear();
  page.messages.replaceChildren();
  show(page.offline, false);
  show(page.conversation, false);
  show(page.signinForm, true);
}

function submitMessage(event) {
  event.preventDefault();
  const text = page.composerText.value.trim();
  if (text && say(text)) page.composerText.value = "";
}

translatePage();
mountLanguageSwitch(byId("language-switch"));
onLanguageChange(() => {
  renderStatus();
  relabel();
  if (signIn) page.signedInAs.textContent = t("chat.signed_in", { order: signIn.orderId });
});
page.signinForm.addEventListener("submit", submitSignIn);
page.composer.addEventListener("submit", submitMessage);
byId("signout").addEventListener("click", () => signOut());
for (const starter of page.starters.querySelectorAll("[data-starter]")) {
  starter.addEventListener("click", () => say(t(starter.dataset.starter)));
}
// Signed out in another tab: this one signs out too.
window.addEventListener("storage", (event) => {
  // That tab forgot what it had to (a Sign out click): this one only stops.
  if (event.key === SIGN_IN_KEY && !event.newValue && signIn) signOut({ forget: false });
});
if (signIn) startConversation();
