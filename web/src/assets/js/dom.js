// Small DOM helpers. Text always goes in through textContent, never innerHTML: data cannot become markup.

/**
 * Create an element: el("li", {class: "msg", text: "hi", attrs: {title: "x"}, on: {click: fn}}, child...)
 */
export function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  if (options.class) node.className = options.class;
  if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
  for (const [name, value] of Object.entries(options.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const [event, handler] of Object.entries(options.on || {})) node.addEventListener(event, handler);
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

export function show(node, visible = true) {
  node.hidden = !visible;
}

export function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") || "";
}

/** The locale of Intl for one of the pages' languages: dates with a month name in English, with
 * 年/月/日 in Chinese, so that no date reads two ways (12/06 is June 12th in most of the world). */
export function localeFor(language) {
  return language === "zh" ? "zh-CN" : "en-US";
}

const TIME_FORMATS = new Map();

/** A local date and time for people, from an ISO string, in ``language``'s own format
 * ("Dec 6, 2026, 10:05 AM", "2026年12月6日 10:05"); "" for none. */
export function formatTime(iso, language) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const locale = localeFor(language);
  if (!TIME_FORMATS.has(locale)) {
    TIME_FORMATS.set(
      locale,
      new Intl.DateTimeFormat(locale, {
        dateStyle: locale === "zh-CN" ? "long" : "medium",
        timeStyle: "short",
        hourCycle: locale === "zh-CN" ? "h23" : undefined,
      }),
    );
  }
  return TIME_FORMATS.get(locale).format(date);
}

/** A calendar day ("2026-12-05", as the API writes a due date) in ``language``'s format, the same
 * day wherever the browser is ("Dec 5, 2026", "2026年12月5日"); the text itself if it is no such day. */
export function formatDay(day, language) {
  if (!day) return "";
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day));
  if (!match) return String(day);
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  const locale = localeFor(language);
  return new Intl.DateTimeFormat(locale, {
    dateStyle: locale === "zh-CN" ? "long" : "medium",
    timeZone: "UTC",
  }).format(date);
}

/**
 * Ask before doing something that cannot be undone, in a modal <dialog> (showModal: focus is trapped in
 * it, Esc dismisses it, focus goes back where it was). Resolves to {confirmed, reason}: ``reason`` is
 * the text of the optional reason field ("" when there is none or it was left empty).
 *
 * @param {object} options
 * @param {string} options.title         the dialog's heading
 * @param {string} options.text          what will happen
 * @param {string} options.confirmLabel  the button that does it
 * @param {string} options.dismissLabel  the button that does nothing
 * @param {string} [options.reasonLabel] a label for an optional reason field (none without it)
 * @param {number} [options.reasonMax]   the reason's maximum length
 * @param {Node}   [options.details]     shown between the text and the buttons (unread messages, say)
 * @param {string} [options.name]        data-dialog, for tests and styles
 */
export function askFirst({
  title,
  text,
  confirmLabel,
  dismissLabel,
  reasonLabel,
  reasonMax = 500,
  details,
  name,
}) {
  const serial = ++askFirst.count;
  const titleId = `ask-first-title-${serial}`;
  const textId = `ask-first-text-${serial}`;
  const reason = reasonLabel
    ? el("textarea", {
        attrs: { name: "reason", rows: 2, maxlength: reasonMax, id: `ask-first-reason-${serial}` },
      })
    : null;
  const dismiss = el("button", {
    class: "secondary",
    text: dismissLabel,
    attrs: { type: "submit", value: "dismiss", "data-choice": "dismiss" },
  });
  const confirm = el("button", {
    class: "danger",
    text: confirmLabel,
    attrs: { type: "submit", value: "confirm", "data-choice": "confirm" },
  });
  const dialog = el(
    "dialog",
    {
      class: "ask-first",
      attrs: { "aria-labelledby": titleId, "aria-describedby": textId, "data-dialog": name },
    },
    el(
      "form",
      { attrs: { method: "dialog" } },
      el("h2", { text: title, attrs: { id: titleId } }),
      el("p", { text, attrs: { id: textId } }),
      details || null,
      reason ? el("label", { attrs: { for: reason.id } }, el("span", { text: reasonLabel }), reason) : null,
      el("div", { class: "dialog-buttons" }, dismiss, confirm),
    ),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const confirmed = dialog.returnValue === "confirm";
      const given = reason ? reason.value.trim() : "";
      dialog.remove();
      resolve({ confirmed, reason: given });
    });
    dialog.showModal();
    dismiss.focus(); // the safe choice first: Enter on an unread dialog does nothing harmful
  });
}
askFirst.count = 0;
