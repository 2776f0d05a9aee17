// The handoff queue, live: open tickets with their unread customer messages (a badge on each, their sum
// on the tab), a ticket's conversation (from Rasa's tracker store and the messages written during the
// handoff), the staff answer (delivered to the customer's chat widget through the hub), and closing the
// ticket, which asks first and shows what the customer wrote that nobody has read.
//
// Opening a ticket takes it (POST .../join: the customer is told a colleague joined) and marks it read;
// the hub's events keep the list and the open conversation current: handoff_requested adds a ticket,
// handoff_message appends to the open conversation (and marks it read) or counts as unread on its
// ticket, handoff_joined and handoff_closed update the list.

import { api, ApiError } from "./api.js";
import { askFirst, byId, clear, el, formatTime, show } from "./dom.js";
import { currentLanguage, t } from "./i18n.js";

const RELOAD_DELAY_MS = 300; // events of one change come together: one reload for them all
const BUBBLE = { customer: "user", bot: "bot", staff: "staff" };

export function mountHandoffs({ token, showError, setUnread = () => {} }) {
  const list = byId("handoff-list");
  const detail = byId("handoff-detail");
  const listError = byId("handoffs-error");
  const panel = byId("tab-handoffs");
  let tickets = [];
  let openTicketId = null;
  let transcript = null; // the open ticket's conversation (<ol>), to append to live
  let reloadTimer = null;
  let liveChanges = 0; // unread counts raised by live events, so that an older list does not undo them

  const unreadOf = (ticket) => Number(ticket.unread) || 0;
  const find = (id) => tickets.find((ticket) => ticket.id === id);

  async function load() {
    showError(listError, null);
    const seen = liveChanges;
    try {
      const items = (await api("/api/v1/handoffs", { token: token(), query: { status: "open" } })).items;
      if (liveChanges !== seen) {
        // A live message was counted while this answer was on its way: it may predate it. Ask again
        // rather than let it take the count back.
        reloadSoon();
        return;
      }
      tickets = items;
      renderList();
    } catch (problem) {
      showError(listError, problem);
    }
  }

  function reloadSoon() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, RELOAD_DELAY_MS);
  }

  /** Where the person wrote from, in words ("Web chat", not Rasa's channel name "socketio"). */
  function channelName(channel) {
    const key = `channel.${channel}`;
    const name = t(key);
    return name === key ? channel : name;
  }

  function describe(ticket) {
    return t("handoffs.ticket", {
      id: ticket.id,
      channel: channelName(ticket.channel),
      customer: ticket.customer_id || t("handoffs.anonymous"),
    });
  }

  /** A count in a badge: the number for the eye, "3 unread" for a screen reader. */
  function unreadBadge(count) {
    return el(
      "span",
      { class: "badge", attrs: { "data-unread": count } },
      el("span", { text: count, attrs: { "aria-hidden": "true" } }),
      el("span", { class: "visually-hidden", text: t("handoffs.unread", { count }) }),
    );
  }

  function publishUnread() {
    setUnread(tickets.reduce((sum, ticket) => sum + unreadOf(ticket), 0));
  }

  /** Draw the list, keeping each ticket's item and button (updated in place, moved into order): a live
   * update never pulls the button from under a pointer or the focus. */
  function renderList() {
    const language = currentLanguage();
    const held = new Map(
      [...list.querySelectorAll(":scope > li[data-ticket-id]")].map((item) => [item.dataset.ticketId, item]),
    );
    for (const item of list.querySelectorAll(":scope > li:not([data-ticket-id])")) item.remove();
    if (!tickets.length) list.append(el("li", { text: t("handoffs.empty") }));
    for (const ticket of tickets) {
      const unread = unreadOf(ticket);
      const open = ticket.id === openTicketId;
      let item = held.get(String(ticket.id));
      held.delete(String(ticket.id));
      if (!item) {
        item = el(
          "li",
          { attrs: { "data-ticket-id": ticket.id } },
          el("button", { class: "link", attrs: { type: "button" } }),
        );
        item.firstElementChild.addEventListener("click", () => openTicket(find(ticket.id) || ticket));
      }
      item.className = `handoff${open ? " handoff-open" : ""}`;
      item.dataset.unread = String(unread);
      const button = item.firstElementChild;
      if (open) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
      button.replaceChildren(el("span", { text: describe(ticket) }), unread ? unreadBadge(unread) : "");
      item.replaceChildren(
        button,
        el("span", { class: "handoff-message", text: ticket.message }),
        ticket.joined_by
          ? el("span", { class: "handoff-joined", text: t("handoffs.joined_by", { name: ticket.joined_by }) })
          : "",
        el("time", { text: formatTime(ticket.created_at, language), attrs: { datetime: ticket.created_at } }),
      );
      list.append(item); // in the list's order (moves a held item)
    }
    for (const gone of held.values()) gone.remove();
    publishUnread();
  }

  /** Replace what we hold of a ticket with the server's answer (join and read return the ticket). */
  function remember(updated) {
    if (!updated || typeof updated !== "object" || updated.id === undefined) return;
    const at = tickets.findIndex((ticket) => ticket.id === updated.id);
    if (at >= 0) tickets[at] = { ...tickets[at], ...updated };
  }

  /** POST .../join or .../read; the ticket as the server now has it, or null where it cannot say. */
  async function mark(ticketId, what) {
    try {
      return await api(`/api/v1/handoffs/${ticketId}/${what}`, { token: token(), method: "POST" });
    } catch (problem) {
      if (problem instanceof ApiError && problem.code === "handoff_closed") throw problem;
      return null; // an older server without the route, or a network blip: the list still works
    }
  }

  function messageItem(message) {
    const label = message.by
      ? `${t(`speaker.${message.speaker}`)} (${message.by})`
      : t(`speaker.${message.speaker}`);
    return el(
      "li",
      { class: `msg msg-${BUBBLE[message.speaker] || "bot"}`, attrs: { "data-speaker": message.speaker } },
      el("span", { class: "msg-label", text: label }),
      el("span", { class: "msg-text", text: message.text }),
      el("time", {
        class: "msg-time",
        text: formatTime(message.at, currentLanguage()),
        attrs: { datetime: message.at },
      }),
    );
  }

  async function openTicket(ticket, notice = null) {
    openTicketId = ticket.id;
    clear(detail);
    const error = el("p", { class: "form-error", attrs: { role: "alert" } });
    error.hidden = true;
    try {
      remember(await mark(ticket.id, "join")); // takes the ticket (the customer is told) and reads it
    } catch (problem) {
      showError(listError, problem); // closed meanwhile
      openTicketId = null;
      show(detail, false);
      load();
      return;
    }
    const held = find(ticket.id);
    if (held) held.unread = 0;
    renderList();
    transcript = el("ol", {
      class: "messages transcript",
      attrs: {
        "aria-label": t("handoffs.conversation"),
        "aria-live": "polite",
        "aria-relevant": "additions",
      },
    });
    try {
      const conversation = await api(`/api/v1/handoffs/${ticket.id}/conversation`, { token: token() });
      if (openTicketId !== ticket.id) return; // another ticket was opened meanwhile
      if (!conversation.items.length) {
        transcript.append(
          el("li", {
            class: "msg msg-notice",
            text: t(conversation.withheld ? "handoffs.withheld" : "handoffs.no_conversation", {
              message: ticket.message,
            }),
          }),
        );
      }
      for (const message of conversation.items) transcript.append(messageItem(message));
    } catch (problem) {
      showError(error, problem);
    }
    const answer = el("textarea", { attrs: { name: "message", rows: 3, maxlength: 2000, required: true } });
    const form = el(
      "form",
      { class: "reply-form" },
      el("label", {}, el("span", { text: t("handoffs.reply") }), answer),
      el("button", { text: t("handoffs.send"), attrs: { type: "submit" } }),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(error, null);
      try {
        await api(`/api/v1/handoffs/${ticket.id}/reply`, {
          token: token(),
          method: "POST",
          body: { message: answer.value },
        });
        answer.value = "";
        openTicket(ticket, t("handoffs.sent"));
      } catch (problem) {
        showError(error, problem);
      }
    });
    const close = el("button", {
      class: "danger",
      text: t("handoffs.close"),
      attrs: { type: "button", "data-action": "close-ticket", "aria-haspopup": "dialog" },
      on: { click: () => closeTicket(ticket, error) },
    });
    detail.append(
      el("h3", { text: describe(ticket) }),
      el("h4", { text: t("handoffs.conversation") }),
      transcript,
      form,
      close,
      error,
    );
    if (notice) detail.append(el("p", { class: "notice", text: notice, attrs: { role: "status" } }));
    detail.dataset.ticketId = String(ticket.id);
    show(detail, true);
    transcript.scrollTop = transcript.scrollHeight;
  }

  /** The messages the customer wrote that nobody has read: the ticket's last ``unread`` customer lines. */
  async function unreadMessages(ticket) {
    let unread = unreadOf(find(ticket.id) || ticket);
    try {
      const fresh = (await api("/api/v1/handoffs", { token: token(), query: { status: "open" } })).items;
      const now = fresh.find((item) => item.id === ticket.id);
      if (now) unread = unreadOf(now);
    } catch {
      // what we hold will do
    }
    if (!unread) return [];
    try {
      const conversation = await api(`/api/v1/handoffs/${ticket.id}/conversation`, { token: token() });
      return conversation.items.filter((item) => item.speaker === "customer").slice(-unread);
    } catch {
      return [];
    }
  }

  async function closeTicket(ticket, error) {
    showError(error, null);
    const unread = await unreadMessages(ticket);
    let details = null;
    if (unread.length) {
      details = el(
        "div",
        { class: "unread-before-close" },
        el("p", {
          text: t(unread.length === 1 ? "confirm.close.unread_one" : "confirm.close.unread", {
            count: unread.length,
          }),
        }),
        el("ol", { class: "messages transcript" }, ...unread.map(messageItem)),
      );
    }
    const answer = await askFirst({
      name: "close-ticket",
      title: t("confirm.close.title", { id: ticket.id }),
      text: t("confirm.close.text"),
      confirmLabel: t("confirm.close.confirm"),
      dismissLabel: t("confirm.close.dismiss"),
      details,
    });
    if (unread.length) {
      mark(ticket.id, "read").catch(() => {}); // shown in the dialog: read now
      const held = find(ticket.id);
      if (held) held.unread = 0;
    }
    if (!answer.confirmed) {
      if (unread.length) {
        renderList();
        openTicket(ticket); // the messages in their place in the conversation
      }
      return;
    }
    try {
      await api(`/api/v1/handoffs/${ticket.id}/close`, { token: token(), method: "POST" });
      show(detail, false);
      openTicketId = null;
      transcript = null;
      load();
    } catch (problem) {
      showError(error, problem);
    }
  }

  /** Is this ticket's conversation in front of someone now (open, on the visible Handoffs tab)? */
  function inView(ticketId) {
    return ticketId === openTicketId && transcript && !panel.hidden && !detail.hidden;
  }

  function onMessage(event) {
    const ticketId = Number(event.data?.ticket_id);
    if (inView(ticketId)) {
      transcript.append(messageItem({ speaker: "customer", text: event.data.text, at: event.time }));
      transcript.scrollTop = transcript.scrollHeight;
      mark(ticketId, "read").then(remember, () => {});
      return;
    }
    const ticket = find(ticketId);
    if (!ticket) {
      reloadSoon(); // a ticket this list does not hold yet: the server counts its unread
      return;
    }
    ticket.unread = unreadOf(ticket) + 1;
    liveChanges += 1;
    renderList();
  }

  function onClosed(event) {
    const ticketId = Number(event.data?.ticket_id);
    tickets = tickets.filter((ticket) => ticket.id !== ticketId);
    if (ticketId === openTicketId) {
      openTicketId = null;
      transcript = null;
      show(detail, false);
    }
    renderList();
  }

  byId("handoffs-refresh").addEventListener("click", load);
  load(); // the tab's unread badge from the start, not only once the tab is opened
  return {
    onShow: async () => {
      await load();
      const ticket = find(openTicketId);
      if (ticket) openTicket(ticket); // what arrived while away, now read
    },
    onLanguage: () => {
      renderList();
      const ticket = find(openTicketId);
      if (ticket) openTicket(ticket);
    },
    onEvent: (event) => {
      switch (event.event_type) {
        case "handoff_requested":
          reloadSoon();
          break;
        case "handoff_message":
          onMessage(event);
          break;
        case "handoff_joined":
          reloadSoon();
          break;
        case "handoff_closed":
          onClosed(event);
          break;
        default:
          break;
      }
    },
  };
}
