// A client of the order service's notification hub (WebSocket at /ws/notifications).
//
// Protocol: send {"type":"auth","token":...,"after":<last event id or null>} first; the hub answers
// {"type":"ready",...}, then {"type":"event","id":...} for each notification, {"type":"ping"} now and
// then, and {"type":"error",...} before it closes. Close code 4001: the token was refused (do not retry);
// 4008: we read too slowly (reconnect: the hub replays after our last id). Any other close: reconnect
// with a growing delay. The last id is kept in sessionStorage so that a reload replays what it missed.

import { meta } from "./dom.js";

const AUTH_FAILED = 4001;
const TOO_SLOW = 4008;
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;

export class NotificationHub {
  /**
   * @param {object} options
   * @param {string} options.path        the hub's path, e.g. "/ws/notifications"
   * @param {string} options.token       the JWT of the signed-in customer or staff member
   * @param {string} options.storageKey  where the last event id is remembered (per person)
   * @param {(event: object) => void} options.onEvent
   * @param {(state: string, detail?: string) => void} options.onState  connecting|live|retrying|refused|stopped
   */
  constructor({ path, token, storageKey, onEvent, onState }) {
    this.url = NotificationHub.urlFor(path);
    this.token = token;
    this.storageKey = storageKey;
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.socket = null;
    this.delay = FIRST_DELAY_MS;
    this.timer = null;
    this.stopped = false;
  }

  static urlFor(path) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${path}`;
  }

  get lastId() {
    const stored = Number.parseInt(sessionStorage.getItem(this.storageKey) || "", 10);
    return Number.isFinite(stored) ? stored : null;
  }

  set lastId(id) {
    sessionStorage.setItem(this.storageKey, String(id));
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, "bye");
    this.socket = null;
    this.onState("stopped");
  }

  connect() {
    if (this.stopped) return;
    this.onState("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "auth", token: this.token, after: this.lastId }));
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (closed) => this.closed(socket, closed));
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    switch (message.type) {
      case "ready":
        // With after=null the hub sends live events only and names the id to reconnect with.
        if (this.lastId === null && typeof message.after === "number") this.lastId = message.after;
        this.delay = FIRST_DELAY_MS;
        this.onState("live");
        break;
      case "event": {
        const last = this.lastId;
        if (typeof message.id === "number" && last !== null && message.id <= last) return; // a replay we have
        if (typeof message.id === "number") this.lastId = message.id;
        this.onEvent(message);
        break;
      }
      case "error":
        this.lastError = message.message || message.code;
        break;
      default: // "ping" and anything newer: nothing to do
        break;
    }
  }

  closed(socket, closed) {
    if (socket !== this.socket || this.stopped) return;
    this.socket = null;
    if (closed.code === AUTH_FAILED) {
      this.onState("refused", this.lastError || closed.reason);
      return;
    }
    const wait = closed.code === TOO_SLOW ? 0 : this.delay + Math.random() * this.delay * 0.3;
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.onState("retrying", String(Math.max(1, Math.ceil(wait / 1000))));
    this.timer = setTimeout(() => this.connect(), wait);
  }
}

/**
 * Start the hub of a page for a signed-in person: the path from the page's meta tag, the last id
 * remembered per person, and each state change as an i18n key with its parameters. ``after``: the
 * page already shows the events through this id (a restored conversation), so the stream goes on
 * after it unless this tab remembers a later one.
 * @param {{token: string, subject: string, after?: number | null, onEvent: (event: object) => void,
 *          onStatus: (status: [string, object]) => void}} options
 */
export function startPageHub({ token, subject, after = null, onEvent, onStatus }) {
  const hub = new NotificationHub({
    path: meta("orderbot-hub-path") || "/ws/notifications",
    token,
    storageKey: `orderbot.hub-last.${subject}`,
    onEvent,
    onState: (state, detail) => onStatus([`hub.${state}`, { seconds: detail, detail }]),
  });
  if (typeof after === "number" && (hub.lastId === null || hub.lastId < after)) hub.lastId = after;
  hub.start();
  return hub;
}
