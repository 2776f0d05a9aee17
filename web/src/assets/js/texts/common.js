// Texts both pages use: the hub's status, sign-in throttling, waits. Chinese and English; i18n.js merges them.

export default {
  en: {
    "app.title": "orderbot",
    "hub.connecting": "Notifications: connecting…",
    "hub.live": "Notifications: live",
    "hub.retrying": "Notifications: reconnecting in {seconds} s…",
    "hub.refused": "Notifications: sign-in refused ({detail}). Please sign in again.",
    "hub.stopped": "Notifications: off",
    "signin.throttled": "Too many attempts. Try again in {wait}.",
    "wait.second": "1 second",
    "wait.seconds": "{count} seconds",
    "wait.minute": "1 minute",
    "wait.minutes": "{count} minutes",
    "wait.hour": "1 hour",
    "wait.hours": "{count} hours",
  },
  zh: {
    "app.title": "订单助手",
    "hub.connecting": "通知：连接中…",
    "hub.live": "通知：实时",
    "hub.retrying": "通知：{seconds} 秒后重连…",
    "hub.refused": "通知：登录被拒绝（{detail}），请重新登录。",
    "hub.stopped": "通知：已关闭",
    "signin.throttled": "尝试次数过多，请 {wait}后再试。",
    "wait.second": "1 秒",
    "wait.seconds": "{count} 秒",
    "wait.minute": "1 分钟",
    "wait.minutes": "{count} 分钟",
    "wait.hour": "1 小时",
    "wait.hours": "{count} 小时",
  },
};
