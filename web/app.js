// rtm demo chat: the page rtmd serves at /. Plain ES module, no build step.
//
// It uses only the browser SDK (/sdk/rtm.js) and client methods of the API: log in
// (session.create + session.authorize), P2P messages (message.send), rooms (session.subscribe
// "room:<rid>", message.send_room), history (message.history), presence (user.online and
// "presence:<uid>" subscriptions). Events are pushed over the WebSocket /v1/ws, or long-polled
// where the socket is not available (?transport=polling forces that).
//
// There is no user directory in rtm: contacts are uids the user adds (or who wrote to them),
// kept in localStorage per user. The session id is kept in sessionStorage, so a reload of the
// tab continues the same session (session.attach with the last event id) instead of logging in
// again.

import {Session} from "/sdk/rtm.js";

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const TRANSPORT = query.get("transport") === "polling" ? "polling" : "auto";
const HISTORY_PAGE = 50;
const ONLINE_POLL_MS = 10000;
const SESSION_KEY = "rtm-demo:session";

// ---- state --------------------------------------------------------------------------------

const state = {
  session: null,
  uid: null,
  login: "",
  contacts: new Map(), // uid -> {uid, name, online, unread, last}
  rooms: new Map(),    // rid -> {rid, key (subscription), unread, last}
  convs: new Map(),    // "u:<uid>" | "r:<rid>" -> {items: Map id -> item, loaded, loading}
  active: null,        // key of the open conversation
  onlineTimer: null,
  conn: {sockets: new Set(), httpOk: true, transport: null}, // open WebSockets, last HTTP call answered
};

// Exposed for debugging in the console (and for the browser tests' diagnostics).
window.rtmDemo = state;

// ---- small helpers --------------------------------------------------------------------------

const midKey = (mid) => (mid === undefined || mid === null ? "" : String(mid));
const isPositiveId = (s) => /^[1-9][0-9]{0,18}$/.test(String(s).trim());

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const timeFmt = new Intl.DateTimeFormat(undefined, {hour: "2-digit", minute: "2-digit"});
const dayFmt = new Intl.DateTimeFormat(undefined, {weekday: "long", day: "numeric", month: "long", year: "numeric"});
const fullFmt = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "medium"});

function dayLabel(ms) {
  const d = new Date(ms);
  const today = new Date();
  const y = new Date(today);
  y.setDate(today.getDate() - 1);
  if (d.toDateString() === today.toDateString()) return "Today";
  if (d.toDateString() === y.toDateString()) return "Yesterday";
  return dayFmt.format(d);
}

function hueOf(text) {
  let h = 0;
  for (const ch of String(text)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

function paintAvatar(node, label, seed) {
  node.textContent = (label || "?").trim().slice(0, 1).toUpperCase();
  node.style.setProperty("--hue", hueOf(seed ?? label));
}

function contactName(uid) {
  if (uid === state.uid) return "You";
  if (uid === 0) return "System";
  const c = state.contacts.get(uid);
  return c && c.name ? c.name : `User ${uid}`;
}

function explain(err) {
  switch (err && err.name) {
    case "AuthorizeFailed": return "Wrong login or password.";
    case "RateLimited": return "Too many attempts. Wait a minute and try again.";
    case "NetworkError": return "Cannot reach the server. Is rtmd running?";
    case "NotFound": return "No such user or room.";
    case "PermissionDenied": return "You are not allowed to do that.";
    case "PayloadTooLarge": return "That message is too long.";
    case "InvalidParameter": return err.message || "Invalid value.";
    case "InvalidSession": return "Your session is over. Sign in again.";
    default: return (err && err.message) || String(err);
  }
}

let toastTimer = null;
function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}

// ---- storage ------------------------------------------------------------------------------

function storeKey(what) {
  return `rtm-demo:${state.uid}:${what}`;
}

function saveLists() {
  if (!state.uid) return;
  try {
    localStorage.setItem(storeKey("contacts"), JSON.stringify([...state.contacts.values()].map((c) => ({uid: c.uid, name: c.name}))));
    localStorage.setItem(storeKey("rooms"), JSON.stringify([...state.rooms.keys()]));
  } catch (_) { /* storage full or disabled: the lists just do not persist */ }
}

function loadLists() {
  const read = (k) => {
    try { return JSON.parse(localStorage.getItem(storeKey(k)) || "[]"); } catch (_) { return []; }
  };
  for (const c of read("contacts")) {
    if (c && Number.isSafeInteger(c.uid) && c.uid > 0) addContact(c.uid, c.name, {save: false});
  }
  return read("rooms").filter((r) => Number.isSafeInteger(r) && r > 0);
}

function saveSession() {
  const s = state.session;
  if (!s || !s.id) return;
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({id: s.id, uid: state.uid, login: state.login, last: s.lastEventId}));
  } catch (_) { /* ignore */ }
}

function forgetSession() {
  try { sessionStorage.removeItem(SESSION_KEY); } catch (_) { /* ignore */ }
}

// ---- connection indicator -------------------------------------------------------------------

// A WebSocket that tells the page when it opens and closes (the SDK sets on* handlers; these
// listeners are beside them).
const NativeWebSocket = globalThis.WebSocket;
class TrackedWebSocket extends NativeWebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    let opened = false;
    this.addEventListener("open", () => { opened = true; state.conn.sockets.add(this); renderConn(); });
    this.addEventListener("close", () => {
      if (!opened) return;
      opened = false;
      state.conn.sockets.delete(this);
      renderConn();
    });
  }
}

// fetch that records whether the server answered the last HTTP call.
async function trackedFetch(input, init) {
  try {
    const res = await fetch(input, init);
    if (!state.conn.httpOk) { state.conn.httpOk = true; renderConn(); }
    return res;
  } catch (e) {
    if (!(init && init.signal && init.signal.aborted)) { state.conn.httpOk = false; renderConn(); }
    throw e;
  }
}

function connState() {
  const s = state.session;
  if (!s || s.state === "ended" || s.state === "closed") return "offline";
  const t = state.conn.transport;
  if (t === "websocket") return state.conn.sockets.size > 0 ? "websocket" : "reconnecting";
  if (t === "polling") return state.conn.httpOk ? "polling" : "reconnecting";
  return "connecting";
}

const CONN_LABELS = {
  websocket: "Live · WebSocket",
  polling: "Live · long polling",
  reconnecting: "Reconnecting…",
  connecting: "Connecting…",
  offline: "Offline",
};

function renderConn() {
  const st = connState();
  const box = $("conn-state");
  if (box.dataset.state === st) return;
  box.dataset.state = st;
  box.querySelector(".label").textContent = CONN_LABELS[st];
  box.title = st === "polling" ? "Events come by long polling (session.get_events)"
    : st === "websocket" ? "Events are pushed over the WebSocket /v1/ws" : "";
}

// ---- login / logout -------------------------------------------------------------------------

function makeSession() {
  const s = new Session({transport: TRANSPORT, WebSocket: TrackedWebSocket, fetch: trackedFetch});
  s.onmessage = (m) => { onMessage(m); saveSession(); };
  s.onpresence = (ev) => { onPresence(ev); saveSession(); };
  s.onroom = (ev) => { onRoomEvent(ev); saveSession(); };
  s.ongap = (ev) => { toast(`${ev.dropped} events were dropped while you were away; history has them.`); };
  s.ontransport = (t) => { state.conn.transport = t; renderConn(); };
  s.onend = (info) => {
    if (state.session !== s) return;
    const why = {killed: "Your session was ended by another sign-in.", kicked: "You were signed out by the server.",
                 expired: "Your session expired.", invalid: "Your session is over."}[info.state];
    endChat(why || null);
  };
  s.onerror = () => renderConn();
  return s;
}

async function onLoginSubmit(e) {
  e.preventDefault();
  const login = $("login").value.trim();
  const password = $("password").value;
  const err = $("login-error");
  err.hidden = true;
  if (!login || !password) return;
  const btn = $("login-button");
  btn.disabled = true;
  btn.textContent = "Signing in…";
  const s = makeSession();
  state.session = s;
  try {
    await s.create();
    const r = await s.authorize({login, password}, "multi");
    $("password").value = "";
    await startChat(s, r.uid, login);
  } catch (ex) {
    state.session = null;
    s.close();
    err.textContent = explain(ex);
    err.hidden = false;
  } finally {
    btn.disabled = false;
    btn.textContent = "Sign in";
  }
}

async function resume() {
  let saved;
  try { saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null"); } catch (_) { saved = null; }
  if (!saved || !saved.id || !saved.uid) return false;
  const s = makeSession();
  state.session = s;
  try {
    await s.attach(saved.id, {after: saved.last ?? undefined});
  } catch (_) {
    state.session = null;
    s.close();
    forgetSession();
    return false;
  }
  await startChat(s, saved.uid, saved.login || "");
  return true;
}

async function startChat(s, uid, login) {
  state.uid = uid;
  state.login = login;
  saveSession();
  $("me-login").textContent = login || `User ${uid}`;
  $("me-uid").textContent = String(uid);
  paintAvatar($("me-avatar"), login || String(uid), login);
  $("login-view").hidden = true;
  $("chat-view").hidden = false;
  document.title = `${login} · rtm chat`;
  const rooms = loadLists();
  renderSidebar();
  renderConn();
  for (const c of state.contacts.values()) s.subscribe(`presence:${c.uid}`).catch(() => {});
  for (const rid of rooms) joinRoom(rid, {open: false}).catch(() => {});
  refreshOnline();
  state.onlineTimer = setInterval(refreshOnline, ONLINE_POLL_MS);
  const first = [...state.contacts.keys()][0];
  if (!isNarrow() && first) openConversation(`u:${first}`);
  else if (!isNarrow() && rooms.length) openConversation(`r:${rooms[0]}`);
}

function endChat(why) {
  clearInterval(state.onlineTimer);
  state.onlineTimer = null;
  if (state.session) state.session.close();
  state.session = null;
  state.uid = null;
  state.contacts.clear();
  state.rooms.clear();
  state.convs.clear();
  state.active = null;
  forgetSession();
  $("contacts").replaceChildren();
  $("rooms").replaceChildren();
  $("messages").replaceChildren();
  showConversationPane(false);
  $("chat-view").hidden = true;
  $("login-view").hidden = false;
  document.title = "rtm chat";
  const err = $("login-error");
  err.hidden = !why;
  err.textContent = why || "";
  $("login").focus();
}

async function logout() {
  const s = state.session;
  endChat(null);
  if (s) { try { await s.destroy(); } catch (_) { /* it is over either way */ } }
}

// ---- contacts, rooms, presence ------------------------------------------------------------

function addContact(uid, name, {save = true} = {}) {
  let c = state.contacts.get(uid);
  if (!c) {
    c = {uid, name: name || "", online: false, unread: 0, last: null};
    state.contacts.set(uid, c);
    if (state.session && save) {
      state.session.subscribe(`presence:${uid}`).catch(() => {});
      refreshOnline();
    }
  } else if (name) {
    c.name = name;
  }
  if (save) { saveLists(); renderSidebar(); }
  return c;
}

async function refreshOnline() {
  const s = state.session;
  const uids = [...state.contacts.keys()].filter((u) => u > 0);
  if (!s || uids.length === 0) return;
  try {
    const online = new Set(await s.online(uids));
    for (const c of state.contacts.values()) c.online = online.has(c.uid);
    renderSidebar();
    renderHeader();
  } catch (_) { /* next round */ }
}

function onPresence(ev) {
  const c = state.contacts.get(ev.uid);
  if (!c) return;
  c.online = ev.state === "online";
  renderSidebar();
  renderHeader();
}

async function joinRoom(rid, {open = true} = {}) {
  const s = state.session;
  const key = await s.subscribe(`room:${rid}`);
  if (state.session !== s) return;
  const existing = state.rooms.get(rid);
  if (existing) existing.key = key;
  else state.rooms.set(rid, {rid, key, unread: 0, last: null});
  saveLists();
  renderSidebar();
  if (open) openConversation(`r:${rid}`);
}

async function leaveRoom(rid) {
  const r = state.rooms.get(rid);
  if (!r) return;
  state.rooms.delete(rid);
  state.convs.delete(`r:${rid}`);
  saveLists();
  if (state.active === `r:${rid}`) {
    state.active = null;
    showConversationPane(false);
  }
  renderSidebar();
  try { await state.session.unsubscribe(r.key); } catch (_) { /* left anyway */ }
}

function onRoomEvent(ev) {
  if (!state.rooms.has(ev.rid)) return;
  const who = ev.uid === state.uid ? "You" : contactName(ev.uid);
  addItem(`r:${ev.rid}`, {id: `room-${ev.id}`, system: true, text: `${who} ${ev.state === "entered" ? "joined" : "left"} the room`, time: Date.now()});
}

// ---- messages -----------------------------------------------------------------------------

function convKeyOf(m) {
  switch (m.kind) {
    case "p2p": return `u:${m.from === state.uid ? m.to : m.from}`;
    case "room": return `r:${m.rid}`;
    case "multi":
    case "broadcast": return `u:${m.from}`;
    default: return null; // groups are not shown by this page
  }
}

function conv(key) {
  let c = state.convs.get(key);
  if (!c) {
    c = {items: new Map(), loaded: false, loading: null};
    state.convs.set(key, c);
  }
  return c;
}

function itemOfMessage(m) {
  return {id: midKey(m.mid), mid: m.mid, from: m.from, mtype: m.mtype, text: m.msg, time: m.mtime, kind: m.kind};
}

// Adds (or replaces) one item of a conversation and shows it when that conversation is open.
function addItem(key, item) {
  const c = conv(key);
  const had = c.items.has(item.id);
  c.items.set(item.id, item);
  if (key === state.active) renderMessages({stick: true});
  return !had;
}

function onMessage(m) {
  const key = convKeyOf(m);
  if (!key) return;
  if (key.startsWith("u:")) {
    const uid = Number(key.slice(2));
    if (!state.contacts.has(uid)) addContact(uid, "");
  } else if (!state.rooms.has(m.rid)) {
    return;
  }
  const fresh = addItem(key, itemOfMessage(m));
  if (!fresh) return;
  const target = key.startsWith("u:") ? state.contacts.get(Number(key.slice(2))) : state.rooms.get(m.rid);
  target.last = {text: previewOf(m), time: m.mtime};
  if (key !== state.active || document.hidden) target.unread++;
  renderSidebar();
}

function previewOf(m) {
  if (m.mtype >= 40 && m.mtype <= 50) return "📎 a file";
  const prefix = m.kind === "room" && m.from !== state.uid ? `${contactName(m.from)}: ` : m.from === state.uid ? "You: " : "";
  return prefix + String(m.msg).replace(/\s+/g, " ").slice(0, 80);
}

async function loadHistory(key) {
  const c = conv(key);
  if (c.loaded) return;
  if (!c.loading) {
    const q = key.startsWith("u:") ? {with: Number(key.slice(2))} : {rid: Number(key.slice(2))};
    c.loading = state.session.history({...q, limit: HISTORY_PAGE}).then((messages) => {
      for (const m of messages) if (!c.items.has(midKey(m.mid))) c.items.set(midKey(m.mid), itemOfMessage(m));
      c.loaded = true;
      const newest = messages[0];
      const target = key.startsWith("u:") ? state.contacts.get(Number(key.slice(2))) : state.rooms.get(Number(key.slice(2)));
      if (newest && target && !target.last) target.last = {text: previewOf(newest), time: newest.mtime};
    }).finally(() => { c.loading = null; });
  }
  try {
    await c.loading;
  } catch (e) {
    toast(`History: ${explain(e)}`);
  }
}

async function send(text) {
  const key = state.active;
  if (!key || !state.session) return;
  const s = state.session;
  const tmpId = `pending-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const item = {id: tmpId, pending: true, from: state.uid, text, time: Date.now(), mtype: 30, kind: key[0] === "u" ? "p2p" : "room"};
  addItem(key, item);
  const c = conv(key);
  try {
    const id = Number(key.slice(2));
    const r = key.startsWith("u:") ? await s.send(id, text) : await s.sendRoom(id, text);
    c.items.delete(tmpId);
    const mk = midKey(r.mid);
    if (!c.items.has(mk)) c.items.set(mk, {...item, id: mk, mid: r.mid, pending: false, time: r.mtime});
    const target = key.startsWith("u:") ? state.contacts.get(id) : state.rooms.get(id);
    if (target) target.last = {text: "You: " + text.replace(/\s+/g, " ").slice(0, 80), time: r.mtime};
  } catch (e) {
    item.pending = false;
    item.failed = true;
    toast(`Not sent: ${explain(e)}`);
  }
  if (key === state.active) renderMessages({stick: true});
  renderSidebar();
}

// ---- rendering ----------------------------------------------------------------------------

function isNarrow() {
  return window.matchMedia("(max-width: 720px)").matches;
}

function showConversationPane(on) {
  $("empty-state").hidden = on;
  $("messages").hidden = !on;
  $("composer").hidden = !on;
  $("chat-view").classList.toggle("show-conv", on);
  $("conversation").dataset.key = on ? state.active : "";
  if (!on) {
    $("conv-title").textContent = "No conversation";
    $("conv-subtitle").textContent = "";
    $("conv-avatar").textContent = "";
    $("leave-room").hidden = true;
  }
}

function convItem({key, title, seed, online, last, unread, testid, dataAttrs}) {
  const li = el("li", {"data-testid": testid, "data-key": key, ...dataAttrs, class: key === state.active ? "active" : ""});
  const avatar = el("span", {class: "avatar", "aria-hidden": "true"});
  paintAvatar(avatar, title, seed);
  if (online !== undefined) avatar.append(el("span", {class: "presence" + (online ? " on" : ""), "data-testid": "presence"}));
  const button = el("button", {type: "button", class: "conv-button"},
    avatar,
    el("span", {class: "conv-text"},
      el("span", {class: "conv-name"}, el("span", {class: "name", text: title}),
        last ? el("time", {class: "conv-time", text: timeFmt.format(new Date(last.time))}) : null),
      el("span", {class: "conv-preview muted", text: last ? last.text : online === undefined ? "Room" : online ? "Online" : "Offline"})),
    unread ? el("span", {class: "badge", "data-testid": "unread", text: String(unread)}) : null);
  button.addEventListener("click", () => openConversation(key));
  li.append(button);
  return li;
}

function renderSidebar() {
  const contacts = [...state.contacts.values()].sort((a, b) =>
    (b.last ? b.last.time : 0) - (a.last ? a.last.time : 0) || a.uid - b.uid);
  $("contacts").replaceChildren(...contacts.map((c) => convItem({
    key: `u:${c.uid}`, title: contactName(c.uid), seed: `u${c.uid}`, online: c.online, last: c.last, unread: c.unread,
    testid: "contact", dataAttrs: {"data-uid": String(c.uid), "data-online": String(c.online)},
  })));
  $("contacts-empty").hidden = contacts.length > 0;
  const rooms = [...state.rooms.values()].sort((a, b) => a.rid - b.rid);
  $("rooms").replaceChildren(...rooms.map((r) => convItem({
    key: `r:${r.rid}`, title: `Room ${r.rid}`, seed: `r${r.rid}`, last: r.last, unread: r.unread,
    testid: "room", dataAttrs: {"data-rid": String(r.rid)},
  })));
  $("rooms-empty").hidden = rooms.length > 0;
}

function renderHeader() {
  const key = state.active;
  if (!key) return;
  const id = Number(key.slice(2));
  if (key.startsWith("u:")) {
    const c = state.contacts.get(id);
    const title = contactName(id);
    $("conv-title").textContent = title;
    $("conv-subtitle").textContent = `${c && c.online ? "● online" : "offline"} · uid ${id}`;
    $("conv-subtitle").dataset.online = String(!!(c && c.online));
    paintAvatar($("conv-avatar"), title, `u${id}`);
    $("leave-room").hidden = true;
  } else {
    $("conv-title").textContent = `Room ${id}`;
    $("conv-subtitle").textContent = "Everyone in the room sees these messages";
    delete $("conv-subtitle").dataset.online;
    paintAvatar($("conv-avatar"), `#`, `r${id}`);
    $("leave-room").hidden = false;
  }
}

function renderMessages({stick = false} = {}) {
  const key = state.active;
  const box = $("messages");
  if (!key) return;
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const items = [...conv(key).items.values()].sort((a, b) => a.time - b.time ||
    (a.mid !== undefined && b.mid !== undefined ? (BigInt(a.mid) < BigInt(b.mid) ? -1 : 1) : 0));
  const room = key.startsWith("r:");
  const nodes = [];
  let lastDay = null;
  let prevFrom = null;
  for (const it of items) {
    const day = new Date(it.time).toDateString();
    if (day !== lastDay) {
      nodes.push(el("div", {class: "day", role: "separator", text: dayLabel(it.time)}));
      lastDay = day;
      prevFrom = null;
    }
    if (it.system) {
      nodes.push(el("div", {class: "system-line", "data-testid": "system-line", text: it.text}));
      prevFrom = null;
      continue;
    }
    const mine = it.from === state.uid;
    const body = el("div", {class: "msg-text", "data-testid": "message-text"});
    if (it.mtype >= 40 && it.mtype <= 50) body.append(fileNode(it.text));
    else body.textContent = it.text;
    const bubble = el("div", {class: "bubble"},
      room && !mine && prevFrom !== it.from ? el("div", {class: "msg-from", style: `--hue:${hueOf("u" + it.from)}`, text: contactName(it.from)}) : null,
      body,
      el("div", {class: "msg-meta"},
        el("time", {class: "msg-time", "data-testid": "message-time", datetime: new Date(it.time).toISOString(), title: fullFmt.format(new Date(it.time)), text: timeFmt.format(new Date(it.time))}),
        mine ? el("span", {class: "msg-status", text: it.failed ? "not sent" : it.pending ? "sending…" : "✓"}) : null));
    nodes.push(el("div", {
      class: "msg" + (mine ? " mine" : " theirs") + (prevFrom === it.from ? " cont" : "") + (it.failed ? " failed" : ""),
      "data-testid": "message", "data-mid": it.mid !== undefined ? midKey(it.mid) : null, "data-from": String(it.from),
      "data-mine": String(mine), "data-pending": it.pending ? "true" : null,
    }, bubble));
    prevFrom = it.from;
  }
  if (nodes.length === 0) nodes.push(el("div", {class: "no-messages muted", "data-testid": "no-messages", text: conv(key).loaded ? "No messages yet. Say hello!" : "Loading…"}));
  box.replaceChildren(...nodes);
  if (stick && !nearBottom) return;
  box.scrollTop = box.scrollHeight;
}

function fileNode(text) {
  try {
    const f = JSON.parse(text);
    const size = f.size >= 1048576 ? `${(f.size / 1048576).toFixed(1)} MiB` : f.size >= 1024 ? `${Math.round(f.size / 1024)} KiB` : `${f.size} B`;
    return el("a", {class: "file", href: f.url, target: "_blank", rel: "noopener", text: `📎 ${f.name || "file"} (${size})`});
  } catch (_) {
    return document.createTextNode(text);
  }
}

async function openConversation(key) {
  state.active = key;
  const id = Number(key.slice(2));
  const target = key.startsWith("u:") ? state.contacts.get(id) : state.rooms.get(id);
  if (target) target.unread = 0;
  showConversationPane(true);
  renderHeader();
  renderSidebar();
  renderMessages();
  await loadHistory(key);
  if (state.active !== key) return;
  $("conversation").dataset.loaded = "true";
  renderMessages();
  renderSidebar();
  if (!isNarrow()) $("composer-input").focus();
}

// ---- wiring -------------------------------------------------------------------------------

function wire() {
  for (const node of document.querySelectorAll("#curl-hint .origin")) node.textContent = location.origin;
  $("login-form").addEventListener("submit", onLoginSubmit);
  $("logout").addEventListener("click", logout);
  $("back").addEventListener("click", () => {
    state.active = null;
    showConversationPane(false);
    renderSidebar();
  });
  $("add-contact-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const raw = $("add-contact-uid").value.trim();
    if (!isPositiveId(raw) || !Number.isSafeInteger(Number(raw))) { toast("A uid is a positive number."); return; }
    const uid = Number(raw);
    if (uid === state.uid) { toast("That is you."); return; }
    addContact(uid, $("add-contact-name").value.trim());
    $("add-contact-uid").value = "";
    $("add-contact-name").value = "";
    openConversation(`u:${uid}`);
  });
  $("join-room-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const raw = $("join-room-rid").value.trim();
    if (!isPositiveId(raw) || !Number.isSafeInteger(Number(raw))) { toast("A room id is a positive number."); return; }
    try {
      await joinRoom(Number(raw));
      $("join-room-rid").value = "";
    } catch (ex) {
      toast(`Cannot join: ${explain(ex)}`);
    }
  });
  $("leave-room").addEventListener("click", () => {
    if (state.active && state.active.startsWith("r:")) leaveRoom(Number(state.active.slice(2)));
  });
  const input = $("composer-input");
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    autosize();
    send(text);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  const autosize = () => {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 160) + "px";
  };
  input.addEventListener("input", autosize);
  document.addEventListener("visibilitychange", () => {
    if (document.hidden || !state.active) return;
    const id = Number(state.active.slice(2));
    const target = state.active.startsWith("u:") ? state.contacts.get(id) : state.rooms.get(id);
    if (target && target.unread) { target.unread = 0; renderSidebar(); }
  });
}

wire();
resume().finally(() => { document.body.dataset.ready = "true"; });
