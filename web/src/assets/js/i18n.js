// Chinese and English texts of both pages. The language follows the browser until the person picks one
// with the switch (remembered in localStorage). Elements carry data-i18n="key" (text),
// data-i18n-placeholder="key" or data-i18n-aria-label="key"; code calls t("key", {name: value}).

import chatTexts from "./texts/chat.js";
import commonTexts from "./texts/common.js";
import consoleTexts from "./texts/console.js";

const TEXTS = { en: {}, zh: {} };
for (const part of [commonTexts, chatTexts, consoleTexts]) {
  for (const lang of Object.keys(TEXTS)) Object.assign(TEXTS[lang], part[lang]);
}

const STORAGE_KEY = "orderbot.language";
const listeners = new Set();

function browserLanguage() {
  const preferred =
    navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  return String(preferred[0] || "")
    .toLowerCase()
    .startsWith("zh")
    ? "zh"
    : "en";
}

let language = TEXTS[localStorage.getItem(STORAGE_KEY)]
  ? localStorage.getItem(STORAGE_KEY)
  : browserLanguage();

export function currentLanguage() {
  return language;
}

/** The text for ``key`` in the current language, with {name} replaced by vars.name. */
export function t(key, vars = {}) {
  const template = TEXTS[language][key] ?? TEXTS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** A wait in words ("2 minutes"), rounded up to whole seconds, minutes under an hour, else hours:
 * someone who waits as long as told is let in (as orderbot_common.waits says it on the server). */
export function waitInWords(seconds) {
  const whole = Math.max(1, Math.ceil(Number(seconds) || 1));
  const [size, unit] = whole < 60 ? [1, "second"] : whole < 3600 ? [60, "minute"] : [3600, "hour"];
  const count = Math.ceil(whole / size);
  return t(count === 1 ? `wait.${unit}` : `wait.${unit}s`, { count });
}

/** The sign-in form's message for a 429: how long to wait, in words. */
export function tooManyAttempts(problem) {
  return t("signin.throttled", { wait: waitInWords(problem.retryAfter) });
}

/** A {"en": ..., "zh": ...} object (labels, notification messages) in the current language. */
export function pick(texts) {
  if (!texts || typeof texts !== "object") return texts == null ? "" : String(texts);
  return texts[language] ?? texts.en ?? "";
}

/** A short name of an order state for staff: the Chinese label, or the state itself in English
 * (the English labels are sentences written for customers). */
export function stateName(status, label) {
  return language === "zh" && label ? label.zh : String(status).replaceAll("_", " ");
}

export function translatePage(root = document) {
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
  document.title = t(document.body.dataset.titleKey || "app.title");
}

export function setLanguage(next) {
  if (!TEXTS[next] || next === language) return;
  language = next;
  localStorage.setItem(STORAGE_KEY, next);
  translatePage();
  for (const listener of listeners) listener(language);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

/** Wire the page's language switch: buttons with data-language="en" / "zh". */
export function mountLanguageSwitch(container) {
  const buttons = [...container.querySelectorAll("[data-language]")];
  const mark = () => {
    for (const button of buttons)
      button.setAttribute("aria-pressed", String(button.dataset.language === language));
  };
  for (const button of buttons) button.addEventListener("click", () => setLanguage(button.dataset.language));
  onLanguageChange(mark);
  mark();
}
