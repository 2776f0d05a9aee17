// Chinese and English texts of both pages. The language follows the browser until the person picks one
// with the switch (remembered in localStorage). Elements carry data-i18n="key" (text) or
// data-i18n-placeholder="key"; code calls t("key", {name: value}).

const TEXTS = {
  en: {
    "app.title": "orderbot",
    "chat.heading": "Order assistant",
    "chat.signin.intro":
      "Sign in with your order number and the e-mail address or phone number on the order.",
    "chat.signin.order": "Order number",
    "chat.signin.contact": "E-mail or phone",
    "chat.signin.submit": "Sign in",
    "chat.signout": "Sign out",
    "chat.signed_in": "Signed in with order {order}.",
    "chat.placeholder": "Ask about your order, e.g. “Where is SO-1001?”",
    "chat.send": "Send",
    "chat.welcome": "Hello! Ask me where your order is, for its invoice, or for a person.",
    "chat.bot.connecting": "Connecting to the assistant…",
    "chat.bot.online": "Assistant online",
    "chat.bot.offline": "The assistant cannot be reached; retrying…",
    "chat.notice": "Update",
    "chat.staff": "Our staff",
    "chat.bot_error": "The assistant could not take that message: {text}",
    "chat.expired": "Your sign-in has expired: please sign in again.",
    "hub.connecting": "Notifications: connecting…",
    "hub.live": "Notifications: live",
    "hub.retrying": "Notifications: reconnecting in {seconds} s…",
    "hub.refused": "Notifications: sign-in refused ({detail}). Please sign in again.",
    "hub.stopped": "Notifications: off",
    "console.heading": "Staff console",
    "console.signin.user": "User name",
    "console.signin.password": "Password",
    "console.signin.submit": "Sign in",
    "console.signed_in": "{subject} ({role})",
    "console.signout": "Sign out",
    "console.tab.orders": "Orders",
    "console.tab.handoffs": "Handoffs",
    "console.tab.import": "Import",
    "console.tab.charts": "Charts",
    "console.feed": "Live notifications",
    "console.feed.empty": "No notifications yet.",
    "board.status": "State",
    "board.any": "Any",
    "board.customer": "Customer id",
    "board.search": "Search",
    "board.search.placeholder": "Order number or name",
    "board.sort": "Sort by",
    "board.sort.created_at": "Created",
    "board.sort.updated_at": "Updated",
    "board.sort.paid_at": "Paid",
    "board.order.desc": "Newest first",
    "board.order.asc": "Oldest first",
    "board.apply": "Apply",
    "board.prev": "Previous",
    "board.next": "Next",
    "board.page": "Page {page} of {pages} · {total} orders",
    "board.empty": "No orders match.",
    "col.order": "Order",
    "col.customer": "Customer",
    "col.status": "State",
    "col.payment": "Payment",
    "col.amount": "Amount",
    "col.created": "Created",
    "col.updated": "Updated",
    "col.paid": "Paid",
    "detail.heading": "Order {order}",
    "detail.close": "Close",
    "detail.actions": "Actions",
    "detail.no_actions": "Your role can take no action on this order now.",
    "detail.audit": "Audit trail",
    "detail.audit.empty": "No entries.",
    "detail.carrier": "Carrier",
    "detail.tracking": "Tracking number",
    "detail.due": "Due",
    "detail.freight": "Freight",
    "detail.shipment": "Shipment",
    "detail.done": "Done: {action}.",
    "detail.settle_for": "Run the settlement of {day}",
    "detail.settled_report": "Settlement of {day}: {orders} orders settled.",
    "action.confirm": "Confirm",
    "action.cancel": "Cancel order",
    "action.stock_in": "Stock in",
    "action.record_shipment": "Record shipment",
    "action.ship": "Ship",
    "action.pay": "Mark paid",
    "action.settle": "Settle",
    "audit.at": "When",
    "audit.actor": "Who",
    "audit.action": "What",
    "audit.change": "Change",
    "import.heading": "Import an ERP export",
    "import.hint": "A .csv, .json, .jsonl or .xlsx file, as the ERP exports it.",
    "import.file": "File",
    "import.submit": "Upload and import",
    "import.uploading": "Uploading… {percent}%",
    "import.processing": "Uploaded; importing…",
    "import.report":
      "{source}: {rows} rows, {inserted} inserted, {updated} updated, {unchanged} unchanged, {quarantined} quarantined.",
    "import.problems": "Rows set aside",
    "import.row": "Row {row}: {reason}",
    "handoffs.heading": "People waiting for an answer",
    "handoffs.empty": "No open tickets.",
    "handoffs.ticket": "Ticket #{id} · {channel} · {customer}",
    "handoffs.anonymous": "not signed in",
    "handoffs.conversation": "Conversation",
    "handoffs.no_conversation": "The conversation is not available; the customer wrote: “{message}”",
    "handoffs.withheld":
      "The conversation this ticket names cannot be shown to be this customer's, so it is withheld; the customer wrote: “{message}”",
    "handoffs.reply": "Your answer",
    "handoffs.send": "Send to the customer",
    "handoffs.close": "Close ticket",
    "handoffs.sent": "Sent to the customer.",
    "handoffs.refresh": "Refresh",
    "speaker.customer": "Customer",
    "speaker.bot": "Bot",
    "speaker.staff": "Staff",
    "charts.by_state": "Orders by state",
    "charts.imports": "Imports and quarantined rows per day",
    "charts.settlements": "Orders settled per day",
    "charts.latency": "Notification delivery latency (outbox → dispatched)",
    "charts.imported_rows": "Rows imported",
    "charts.quarantined_rows": "Rows quarantined",
    "charts.settled": "Orders settled",
    "charts.notifications": "Notifications",
    "charts.latency_summary": "p50 {p50} s · p95 {p95} s · {pending} waiting",
    "charts.refresh": "Refresh",
    "charts.conversations": "Conversation turns and fallbacks per day",
    "charts.turns": "Turns",
    "charts.fallbacks": "Fallbacks",
    "charts.conversations_summary": "{day}: fallback rate {rate} % · top intents: {intents}",
    "charts.no_conversations": "No conversation events yet (Rasa's event broker feeds them: see the README).",
    "charts.not_allowed": "Your role cannot see this chart.",
    "error.prefix": "Error: {message}",
    "signin.throttled": "Too many attempts. Try again in {wait}.",
    "wait.second": "1 second",
    "wait.seconds": "{count} seconds",
    "wait.minute": "1 minute",
    "wait.minutes": "{count} minutes",
    "wait.hour": "1 hour",
    "wait.hours": "{count} hours",
    "role.customer": "to the customer",
    "role.warehouse": "to the warehouse",
    "role.finance": "to finance",
    "role.operations": "to operations",
  },
  zh: {
    "app.title": "订单助手",
    "chat.heading": "订单助手",
    "chat.signin.intro": "请输入订单号，以及订单上的邮箱或手机号登录。",
    "chat.signin.order": "订单号",
    "chat.signin.contact": "邮箱或手机号",
    "chat.signin.submit": "登录",
    "chat.signout": "退出",
    "chat.signed_in": "已通过订单 {order} 登录。",
    "chat.placeholder": "询问您的订单，例如“SO-1001 到哪了”",
    "chat.send": "发送",
    "chat.welcome": "您好！可以问我订单到哪了、要发票，或转人工。",
    "chat.bot.connecting": "正在连接助手…",
    "chat.bot.online": "助手在线",
    "chat.bot.offline": "无法连接助手，正在重试…",
    "chat.notice": "订单动态",
    "chat.staff": "客服",
    "chat.bot_error": "助手无法处理这条消息：{text}",
    "chat.expired": "登录已过期，请重新登录。",
    "hub.connecting": "通知：连接中…",
    "hub.live": "通知：实时",
    "hub.retrying": "通知：{seconds} 秒后重连…",
    "hub.refused": "通知：登录被拒绝（{detail}），请重新登录。",
    "hub.stopped": "通知：已关闭",
    "console.heading": "员工控制台",
    "console.signin.user": "用户名",
    "console.signin.password": "密码",
    "console.signin.submit": "登录",
    "console.signed_in": "{subject}（{role}）",
    "console.signout": "退出",
    "console.tab.orders": "订单",
    "console.tab.handoffs": "人工服务",
    "console.tab.import": "导入",
    "console.tab.charts": "图表",
    "console.feed": "实时通知",
    "console.feed.empty": "暂无通知。",
    "board.status": "状态",
    "board.any": "全部",
    "board.customer": "客户编号",
    "board.search": "搜索",
    "board.search.placeholder": "订单号或姓名",
    "board.sort": "排序",
    "board.sort.created_at": "创建时间",
    "board.sort.updated_at": "更新时间",
    "board.sort.paid_at": "付款时间",
    "board.order.desc": "最新在前",
    "board.order.asc": "最早在前",
    "board.apply": "查询",
    "board.prev": "上一页",
    "board.next": "下一页",
    "board.page": "第 {page} / {pages} 页 · 共 {total} 个订单",
    "board.empty": "没有符合条件的订单。",
    "col.order": "订单",
    "col.customer": "客户",
    "col.status": "状态",
    "col.payment": "付款",
    "col.amount": "金额",
    "col.created": "创建",
    "col.updated": "更新",
    "col.paid": "付款时间",
    "detail.heading": "订单 {order}",
    "detail.close": "关闭",
    "detail.actions": "操作",
    "detail.no_actions": "您的角色目前不能对此订单进行操作。",
    "detail.audit": "审计记录",
    "detail.audit.empty": "暂无记录。",
    "detail.carrier": "承运商",
    "detail.tracking": "运单号",
    "detail.due": "到期日",
    "detail.freight": "运费",
    "detail.shipment": "发货信息",
    "detail.done": "已完成：{action}。",
    "detail.settle_for": "执行 {day} 的结算",
    "detail.settled_report": "{day} 结算：已结算 {orders} 个订单。",
    "action.confirm": "确认",
    "action.cancel": "取消订单",
    "action.stock_in": "入库",
    "action.record_shipment": "登记发货信息",
    "action.ship": "发货",
    "action.pay": "标记已付款",
    "action.settle": "结算",
    "audit.at": "时间",
    "audit.actor": "操作人",
    "audit.action": "操作",
    "audit.change": "变更",
    "import.heading": "导入 ERP 导出文件",
    "import.hint": "ERP 导出的 .csv、.json、.jsonl 或 .xlsx 文件。",
    "import.file": "文件",
    "import.submit": "上传并导入",
    "import.uploading": "上传中… {percent}%",
    "import.processing": "已上传，正在导入…",
    "import.report":
      "{source}：共 {rows} 行，新增 {inserted}，更新 {updated}，未变 {unchanged}，隔离 {quarantined}。",
    "import.problems": "被隔离的行",
    "import.row": "第 {row} 行：{reason}",
    "handoffs.heading": "等待人工答复的客户",
    "handoffs.empty": "没有待处理的工单。",
    "handoffs.ticket": "工单 #{id} · {channel} · {customer}",
    "handoffs.anonymous": "未登录",
    "handoffs.conversation": "对话记录",
    "handoffs.no_conversation": "对话记录不可用；客户留言：“{message}”",
    "handoffs.withheld": "无法确认该工单所指的对话属于此客户，因此不予显示；客户留言：“{message}”",
    "handoffs.reply": "您的答复",
    "handoffs.send": "发送给客户",
    "handoffs.close": "关闭工单",
    "handoffs.sent": "已发送给客户。",
    "handoffs.refresh": "刷新",
    "speaker.customer": "客户",
    "speaker.bot": "机器人",
    "speaker.staff": "客服",
    "charts.by_state": "各状态订单数",
    "charts.imports": "每日导入与隔离行数",
    "charts.settlements": "每日结算订单数",
    "charts.latency": "通知送达延迟（写入 → 发出）",
    "charts.imported_rows": "导入行数",
    "charts.quarantined_rows": "隔离行数",
    "charts.settled": "结算订单",
    "charts.notifications": "通知数",
    "charts.latency_summary": "p50 {p50} 秒 · p95 {p95} 秒 · {pending} 条待发",
    "charts.refresh": "刷新",
    "charts.conversations": "每日对话轮次与兜底次数",
    "charts.turns": "对话轮次",
    "charts.fallbacks": "兜底回复",
    "charts.conversations_summary": "{day}：兜底率 {rate}% · 热门意图：{intents}",
    "charts.no_conversations": "暂无对话事件（由 Rasa 的事件总线提供，见 README）。",
    "charts.not_allowed": "您的角色无权查看此图表。",
    "error.prefix": "错误：{message}",
    "signin.throttled": "尝试次数过多，请 {wait}后再试。",
    "wait.second": "1 秒",
    "wait.seconds": "{count} 秒",
    "wait.minute": "1 分钟",
    "wait.minutes": "{count} 分钟",
    "wait.hour": "1 小时",
    "wait.hours": "{count} 小时",
    "role.customer": "发给客户",
    "role.warehouse": "发给仓库",
    "role.finance": "发给财务",
    "role.operations": "发给运营",
  },
};

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
