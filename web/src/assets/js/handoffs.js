// The handoff queue: open tickets, a ticket's conversation (from Rasa's tracker store), the staff answer
// (delivered to the customer's chat widget through the hub), and closing the ticket.

import { api } from "./api.js";
import { byId, clear, el, formatTime, show } from "./dom.js";
import { currentLanguage, t } from "./i18n.js";

export function mountHandoffs({ token, showError }) {
  const list = byId("handoff-list");
  const detail = byId("handoff-detail");
  const listError = byId("handoffs-error");
  let tickets = [];
  let openTicketId = null;

  async function load() {
    showError(listError, null);
    try {
      tickets = (await api("/api/v1/handoffs", { token: token(), query: { status: "open" } })).items;
      renderList();
    } catch (problem) {
      showError(listError, problem);
    }
  }

  function describe(ticket) {
    return t("handoffs.ticket", {
      id: ticket.id,
      channel: ticket.channel,
      customer: ticket.customer_id || t("handoffs.anonymous"),
    });
  }

  function renderList() {
    clear(list);
    if (!tickets.length) list.append(el("li", { text: t("handoffs.empty") }));
    for (const ticket of tickets) {
      list.append(
        el(
          "li",
          { class: "handoff", attrs: { "data-ticket-id": ticket.id } },
          el("button", {
            class: "link",
            text: describe(ticket),
            attrs: { type: "button" },
            on: { click: () => openTicket(ticket) },
          }),
          el("span", { class: "handoff-message", text: ticket.message }),
          el("time", { text: formatTime(ticket.created_at, currentLanguage()) }),
        ),
      );
    }
  }

  async function openTicket(ticket, notice = null) {
    openTicketId = ticket.id;
    clear(detail);
    const error = el("p", { class: "form-error", attrs: { role: "alert" } });
    error.hidden = true;
    const transcript = el("ol", { class: "messages transcript" });
    try {
      const conversation = await api(`/api/v1/handoffs/${ticket.id}/conversation`, { token: token() });
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
      const bubble = { customer: "user", bot: "bot", staff: "staff" };
      for (const message of conversation.items) {
        const label = message.by
          ? `${t(`speaker.${message.speaker}`)} (${message.by})`
          : t(`speaker.${message.speaker}`);
        transcript.append(
          el(
            "li",
            { class: `msg msg-${bubble[message.speaker] || "bot"}` },
            el("span", { class: "msg-label", text: label }),
            el("span", { class: "msg-text", text: message.text }),
            el("time", { class: "msg-time", text: formatTime(message.at, currentLanguage()) }),
          ),
        );
      }
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
      text: t("handoffs.close"),
      attrs: { type: "button" },
      on: {
        click: async () => {
          try {
            await api(`/api/v1/handoffs/${ticket.id}/close`, { token: token(), method: "POST" });
            show(detail, false);
            openTicketId = null;
            load();
          } catch (problem) {
            showError(error, problem);
          }
        },
      },
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
    show(detail, true);
  }

  byId("handoffs-refresh").addEventListener("click", load);
  return {
    onShow: load,
    onLanguage: () => {
      renderList();
      const ticket = tickets.find((item) => item.id === openTicketId);
      if (ticket) openTicket(ticket);
    },
    onEvent: (event) => {
      if (event.event_type === "handoff_requested") load();
    },
  };
}
