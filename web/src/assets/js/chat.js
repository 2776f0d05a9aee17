// The customer chat page: sign in with an order number and e-mail or phone, talk to Rasa over socket.io
// (the token rides in customData, never in a URL), and show live notifications from the order hub.

import { io } from "/vendor/socket.io.esm.min.js";
import { api, ApiError } from "./api.js";
import { byId, el, meta, show } from "./dom.js";
import { startPageHub } from "./hub.js";
import { mountLanguageSwitch, onLanguageChange, pick, t, tooManyAttempts, translatePage } from "./i18n.js";

const SIGN_IN_KEY = "orderbot.customer";
const SESSION_KEY = "orderbot.rasa-session";

const page = {
  signinForm: byId("signin-form"),
  signinError: byId("signin-error"),
  conversation: byId("conversation"),
  signedInAs: byId("signed-in-as"),
  messages: byId("messages"),
  composer: byId("composer"),
  composerText: byId("composer-text"),
  botStatus: byId("bot-status"),
  hubStatus: byId("hub-status"),
};

let signIn = readSignIn(); // {token, orderId, subject, expiresAt}
let bot = null; // socket.io connection to Rasa
let hub = null;
// A conversation belongs to one sign-in: without one (none yet, or expired), the next customer in
// this tab starts a conversation of their own.
if (!signIn) sessionStorage.removeItem(SESSION_KEY);
let sessionId = sessionStorage.getItem(SESSION_KEY);
let sessionReady = false;
let botState = ["chat.bot.connecting"];
let hubState = ["hub.connecting"];

function readSignIn() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(SIGN_IN_KEY) || "null");
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

function addMessage(kind, text, { label, time, buttons } = {}) {
  const item = el("li", { class: `msg msg-${kind}`, attrs: { "data-kind": kind } });
  if (label) item.append(el("span", { class: "msg-label", text: label }));
  item.append(withLinks(el("span", { class: "msg-text" }), text));
  if (time)
    item.append(
      el("time", { class: "msg-time", text: new Date(time).toLocaleTimeString(), attrs: { datetime: time } }),
    );
  if (buttons && buttons.length) {
    const row = el("div", { class: "msg-buttons" });
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
  page.messages.append(item);
  page.messages.scrollTop = page.messages.scrollHeight;
  return item;
}

function renderStatus() {
  page.botStatus.textContent = t(...botState);
  page.hubStatus.textContent = t(...hubState);
}

// --- Rasa over socket.io ------------------------------------------------------------------------------

function connectBot() {
  const rasaUrl = meta("orderbot-rasa-url");
  // WebSocket only: no long-polling, so no cross-origin HTTP requests to Rasa are needed.
  bot = io(rasaUrl, { path: "/socket.io", transports: ["websocket"], reconnectionDelayMax: 10000 });
  bot.on("connect", () => {
    sessionReady = false;
    bot.emit("session_request", { session_id: sessionId });
  });
  bot.on("session_confirm", (confirmed) => {
    sessionId = typeof confirmed === "string" ? confirmed : confirmed?.session_id || sessionId;
    sessionStorage.setItem(SESSION_KEY, sessionId);
    sessionReady = true;
    botState = ["chat.bot.online"];
    renderStatus();
  });
  bot.on("bot_uttered", (message) => {
    if (message.error) {
      addMessage("error", t("chat.bot_error", { text: message.text || "" }));
      return;
    }
    const buttons = message.quick_replies || message.buttons || [];
    if (message.text) addMessage("bot", message.text, { buttons });
    else if (message.attachment?.payload?.src) addMessage("bot", message.attachment.payload.src);
  });
  bot.on("connect_error", () => {
    botState = ["chat.bot.offline"];
    renderStatus();
  });
  bot.on("disconnect", () => {
    sessionReady = false;
    botState = ["chat.bot.offline"];
    renderStatus();
  });
}

function say(text, shown = text) {
  if (signIn && signIn.expiresAt <= Date.now()) {
    // The assistant would refuse the token and ask for proof again and again: sign in afresh.
    signOut();
    page.signinError.textContent = t("chat.expired");
    show(page.signinError, true);
    return false;
  }
  if (!signIn || !bot || !sessionReady) return false;
  addMessage("user", shown);
  bot.emit("user_uttered", { message: text, session_id: sessionId, customData: { token: signIn.token } });
  return true;
}

// --- notifications from the order hub -----------------------------------------------------------------

function showNotification(event) {
  if (event.event_type === "handoff_reply") {
    addMessage("staff", pick(event.message), { label: t("chat.staff"), time: event.time });
  } else {
    addMessage("notice", pick(event.message), { label: t("chat.notice"), time: event.time });
  }
}

function startHub() {
  hub = startPageHub({
    token: signIn.token,
    subject: signIn.subject,
    onEvent: showNotification,
    onStatus: (status) => {
      hubState = status;
      renderStatus();
    },
  });
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
    sessionStorage.setItem(SIGN_IN_KEY, JSON.stringify(signIn));
    startConversation();
  } catch (problem) {
    const throttled = problem instanceof ApiError && problem.status === 429;
    const message = problem instanceof ApiError ? problem.message : String(problem);
    page.signinError.textContent = throttled ? tooManyAttempts(problem) : message;
    show(page.signinError, true);
  }
}

function startConversation() {
  show(page.signinForm, false);
  show(page.conversation, true);
  page.signedInAs.textContent = t("chat.signed_in", { order: signIn.orderId });
  if (!page.messages.children.length) addMessage("bot", t("chat.welcome"));
  if (!bot) connectBot();
  startHub();
  renderStatus();
  page.composerText.focus();
}

function signOut() {
  hub?.stop();
  hub = null;
  bot?.disconnect();
  bot = null;
  signIn = null;
  sessionStorage.removeItem(SIGN_IN_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  sessionId = null;
  page.messages.replaceChildren();
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
  if (signIn) page.signedInAs.textContent = t("chat.signed_in", { order: signIn.orderId });
});
page.signinForm.addEventListener("submit", submitSignIn);
page.composer.addEventListener("submit", submitMessage);
byId("signout").addEventListener("click", signOut);
if (signIn) startConversation();
