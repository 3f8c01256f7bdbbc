// rtm browser SDK: one ES module, no build step, for browsers and Node 20.
//
//   import {Session, Channel} from "./rtm.js";
//
// Session: a client session of rtmd (API.md sections 3, 4, 6). Calls go over the WebSocket
// /v1/ws while it is open, else over HTTP (POST /v1/<method>). Events are pushed over the
// WebSocket; when there is no WebSocket (Node 20 without the `ws` package, a proxy that refuses
// the upgrade, a dropped socket that does not come back) they are long-polled with
// session.get_events. Every event is delivered once, in order: the SDK remembers the id of the
// last event it delivered and resumes with `after` (session.attach or get_events).
//
// Channel: an App Engine-style channel (API.md section 7) read with channel.poll, or with the
// WebSocket /v1/channel?token= where the server has one.
//
// 64-bit integers that a JavaScript number cannot hold exactly (every `mid`) are read as
// BigInt; BigInt values are written as JSON numbers.

/** Error names of the contract (API.md section 2), by rc. */
export const ERROR_NAMES = Object.freeze({
  1001: "InvalidRequest",
  1002: "InvalidParameter",
  1003: "UnknownMethod",
  1004: "PayloadTooLarge",
  1005: "RateLimited",
  1100: "InvalidSession",
  1101: "SessionAlreadyAuthorized",
  1102: "AuthorizeFailed",
  1103: "SessionExists",
  1104: "NotAuthorized",
  1105: "Unauthorized",
  1106: "PermissionDenied",
  1200: "InvalidToken",
  1201: "TokenExpired",
  1300: "NotFound",
  1301: "AlreadyExists",
  1500: "Internal",
  1503: "Unavailable",
});

const HTTP_STATUS = {
  1001: 400, 1002: 400, 1003: 404, 1004: 413, 1005: 429, 1100: 404, 1101: 409, 1102: 401,
  1103: 409, 1104: 401, 1105: 401, 1106: 403, 1200: 401, 1201: 401, 1300: 404, 1301: 409,
  1500: 500, 1503: 503,
};

/** rc of an error that did not come from the server: no answer (network down, timeout). */
export const RC_NETWORK = -1;
/** rc of a call abandoned because the Session or Channel was closed or destroyed. */
export const RC_CLOSED = -2;

/**
 * An error answer of rtmd, or a transport failure.
 * `rc` is the contract's code (1001...), `name` its error name ("InvalidSession", ...),
 * `message` the server's text. Transport failures have rc RC_NETWORK and name "NetworkError";
 * calls cut short by close()/destroy() have rc RC_CLOSED and name "Closed".
 */
export class RtmError extends Error {
  /**
   * @param {number} rc the contract's rc, or RC_NETWORK / RC_CLOSED
   * @param {string} name the contract's error name ("InvalidSession", ...)
   * @param {string} message human text
   * @param {number} [status] the HTTP status of the answer, when there was one
   */
  constructor(rc, name, message, status) {
    super(message);
    this.rc = rc;
    this.name = name;
    if (status !== undefined) this.status = status;
  }
}

function networkError(message) {
  return new RtmError(RC_NETWORK, "NetworkError", message);
}

function closedError(message = "closed") {
  return new RtmError(RC_CLOSED, "Closed", message);
}

function replyError(reply, status) {
  const rc = typeof reply.rc === "number" ? reply.rc : 1500;
  const name = reply.error || ERROR_NAMES[rc] || "Error";
  return new RtmError(rc, name, reply.msg || name, status);
}

// ---- JSON with 64-bit integers ------------------------------------------------------------

const BIG_MARK = "@rtm-bigint-" + Math.random().toString(36).slice(2) + ":";
// A JSON string (unrolled, no backtracking) or a number.
const JSON_TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const BIG_MARK_RE = new RegExp('"' + BIG_MARK.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&") + '(-?\\d+)"', "g");

/**
 * JSON.parse that keeps integers beyond Number.MAX_SAFE_INTEGER exact, as BigInt
 * (rtm's `mid` values are 64-bit). Other numbers are ordinary numbers.
 * @param {string} text JSON text
 * @returns {*} the parsed value
 */
export function parseJSON(text) {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  let found = false;
  const marked = text.replace(JSON_TOKEN, (tok) => {
    if (tok.charCodeAt(0) === 34 || !/^-?\d{16,}$/.test(tok)) return tok;
    if (Number.isSafeInteger(Number(tok))) return tok;
    found = true;
    return '"' + BIG_MARK + tok + '"';
  });
  if (!found) return JSON.parse(text);
  return JSON.parse(marked, (key, value) =>
    typeof value === "string" && value.startsWith(BIG_MARK) ? BigInt(value.slice(BIG_MARK.length)) : value);
}

/**
 * JSON.stringify that writes BigInt values as JSON integers.
 * @param {*} value a JSON-able value, BigInt allowed
 * @returns {string} JSON text
 */
export function stringifyJSON(value) {
  let big = false;
  const text = JSON.stringify(value, (key, v) => {
    if (typeof v !== "bigint") return v;
    big = true;
    return BIG_MARK + v.toString();
  });
  return big ? text.replace(BIG_MARK_RE, "$1") : text;
}

// ---- small helpers ------------------------------------------------------------------------

function baseUrl(url) {
  if (typeof url !== "string" || url === "") {
    if (typeof location !== "undefined" && location.origin) return location.origin;
    throw new TypeError("rtm: options.url (the base URL of rtmd) is required");
  }
  return url.replace(/\/+$/, "");
}

function wsUrl(base, path) {
  return base.replace(/^http(s?):/i, "ws$1:") + path;
}

function delayFor(attempt, min, max) {
  const d = Math.min(max, min * 2 ** Math.min(attempt, 20));
  return Math.round(d * (0.5 + Math.random() * 0.5));
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      if (signal) signal.removeEventListener("abort", done);
      resolve();
    }
    if (signal) signal.addEventListener("abort", done, {once: true});
  });
}

function randomMid() {
  const c = globalThis.crypto;
  let hi, lo;
  if (c && c.getRandomValues) {
    const a = c.getRandomValues(new Uint32Array(2));
    hi = a[0];
    lo = a[1];
  } else {
    hi = Math.floor(Math.random() * 2 ** 32);
    lo = Math.floor(Math.random() * 2 ** 32);
  }
  const v = ((BigInt(hi) & 0x7fffffffn) << 32n) | BigInt(lo);
  return v === 0n ? 1n : v;
}

function toId(v) {
  if (typeof v === "string" && /^\d+$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : BigInt(v);
  }
  return v;
}

function safeCall(owner, fn, ...args) {
  if (typeof fn !== "function") return;
  try {
    fn.apply(owner, args);
  } catch (e) {
    if (typeof owner.onerror === "function" && fn !== owner.onerror) {
      try {
        owner.onerror(e);
        return;
      } catch (_) { /* fall through */ }
    }
    console.error("rtm: an event handler threw", e);
  }
}

function textOf(data) {
  if (typeof data === "string") return data;
  if (typeof TextDecoder !== "undefined") {
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  }
  return String(data);
}

/**
 * One HTTP call: POST base/v1/<path> with a JSON body.
 * @param {Function} fetchFn fetch implementation
 * @param {string} base base URL
 * @param {string} path method path ("session.create", "server/user.add")
 * @param {object} params body
 * @param {{timeout?: number, signal?: AbortSignal, headers?: object}} [opts]
 * @returns {Promise<object>} the answer without rc on success
 */
async function httpCall(fetchFn, base, path, params, opts = {}) {
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = opts.timeout ? setTimeout(() => { timedOut = true; ctrl.abort(); }, opts.timeout) : null;
  const onAbort = () => ctrl.abort();
  if (opts.signal) {
    if (opts.signal.aborted) ctrl.abort();
    else opts.signal.addEventListener("abort", onAbort, {once: true});
  }
  let res, text;
  try {
    res = await fetchFn(base + "/v1/" + path, {
      method: "POST",
      headers: Object.assign({"Content-Type": "application/json"}, opts.headers || {}),
      body: stringifyJSON(params || {}),
      signal: ctrl.signal,
    });
    text = await res.text();
  } catch (e) {
    if (opts.signal && opts.signal.aborted) throw closedError("call aborted");
    throw networkError(timedOut ? `${path}: no answer within ${opts.timeout} ms`
                                : `${path}: ${e && e.message ? e.message : e}`);
  } finally {
    if (timer) clearTimeout(timer);
    if (opts.signal) opts.signal.removeEventListener("abort", onAbort);
  }
  let reply;
  try {
    reply = parseJSON(text);
  } catch (_) {
    throw new RtmError(RC_NETWORK, "NetworkError", `${path}: HTTP ${res.status} with a body that is not JSON`, res.status);
  }
  if (!reply || typeof reply !== "object") {
    throw new RtmError(RC_NETWORK, "NetworkError", `${path}: HTTP ${res.status} with an answer that is not an object`, res.status);
  }
  if (reply.rc !== 0) throw replyError(reply, res.status);
  delete reply.rc;
  return reply;
}

// Methods whose call may be made again when the socket carrying it dropped before the answer
// (sends carry a `mid` retry key, so they are stored and delivered once).
const NOT_RETRIED = new Set(["session.create", "session.authorize"]);

// ---- Session ------------------------------------------------------------------------------

/**
 * @typedef {object} SessionOptions
 * @property {string} url base URL of rtmd, e.g. "http://127.0.0.1:8080" (default: the page's origin)
 * @property {Function} [WebSocket] WebSocket constructor (default: globalThis.WebSocket; in Node 20
 *   pass `(await import("ws")).WebSocket`). Without one, events are long-polled.
 * @property {Function} [fetch] fetch implementation (default: globalThis.fetch)
 * @property {"auto"|"websocket"|"polling"} [transport] "polling" never opens a WebSocket;
 *   "auto" (default) and "websocket" prefer the socket and long-poll while it is not there
 * @property {number} [pollTimeout] seconds a long poll waits on the server (0-60, default 25)
 * @property {number} [callTimeout] ms to wait for the answer of a call (default 30000)
 * @property {number} [connectTimeout] ms to wait for a WebSocket to open (default 10000)
 * @property {number} [minDelay] first reconnect delay in ms (default 250); doubles per failure
 * @property {number} [maxDelay] longest reconnect delay in ms (default 10000)
 * @property {number} [heartbeat] ms of silence on the socket after which the SDK makes a
 *   cheap call (session.set with no settings) to check it (default 30000; 0: never)
 * @property {number} [heartbeatTimeout] ms to wait for that answer before the socket counts
 *   as dead and is replaced (default 10000)
 */

/**
 * A client session of rtmd. Set the handlers (`onevent`, `onmessage`, ...) and call
 * `create()` then `authorize(...)`; events are delivered from then on, each once and in order.
 *
 * Handlers (all optional):
 * - `onevent(event)`: every event (docs/semantics.md "Events"), before the typed handler;
 * - `onmessage(message, event)`, `onpresence(event)`, `onroom(event)`, `ongap(event)`;
 * - `onend(info)`: the session is over (`info.state`: "killed", "kicked", "expired",
 *   "destroyed", "invalid"; `info.event` or `info.error` says why); nothing follows;
 * - `ontransport(name)`: events now come over "websocket" or "polling" (or null: stopped);
 * - `onerror(error)`: a background failure (a poll that failed and will be retried, a handler
 *   that threw).
 */
export class Session {
  /**
   * @param {SessionOptions} options
   */
  constructor(options = {}) {
    this._base = baseUrl(options.url);
    this._fetch = options.fetch || (globalThis.fetch ? globalThis.fetch.bind(globalThis) : null);
    if (!this._fetch) throw new TypeError("rtm: no fetch available; pass options.fetch");
    this._WS = options.transport === "polling" ? null
      : (options.WebSocket !== undefined ? options.WebSocket : globalThis.WebSocket) || null;
    this._pollTimeout = options.pollTimeout ?? 25;
    this._callTimeout = options.callTimeout ?? 30000;
    this._connectTimeout = options.connectTimeout ?? 10000;
    this._minDelay = options.minDelay ?? 250;
    this._maxDelay = options.maxDelay ?? 10000;
    this._heartbeat = options.heartbeat ?? 30000;
    this._heartbeatTimeout = options.heartbeatTimeout ?? 10000;
    this._hbTimer = null;
    this._hbBusy = false;
    this._lastFrame = 0;

    this._id = null;          // session id
    this._uid = null;
    this._last = null;        // id of the last event delivered; null: start at the server's cursor
    this._state = "new";      // new | live | closed | ended
    this._transport = null;   // "websocket" | "polling" | null

    this._ws = null;          // the open socket, if any
    this._wsAttached = false; // this._ws pushes this session's events
    this._wsAttempt = 0;      // consecutive failed reconnects
    this._mids = new Set();   // mids delivered lately (_seenMid), as strings
    this._midOrder = [];      // the same, oldest first, to forget the oldest
    this._wsTimer = null;
    this._wsConnecting = false;
    this._nextId = 1;
    this._pending = new Map(); // request id -> {method, params, resolve, reject, timer}
    this._authorizing = null;  // the session.authorize call in flight, if any
    this._destroying = false;  // destroy() was called

    this._pollGen = 0;         // a poll loop runs while _pollGen is its generation
    this._pollAbort = null;

    /** @type {?function(object):void} */ this.onevent = null;
    /** @type {?function(object, object):void} */ this.onmessage = null;
    /** @type {?function(object):void} */ this.onpresence = null;
    /** @type {?function(object):void} */ this.onroom = null;
    /** @type {?function(object):void} */ this.ongap = null;
    /** @type {?function(object):void} */ this.onend = null;
    /** @type {?function(?string):void} */ this.ontransport = null;
    /** @type {?function(Error):void} */ this.onerror = null;
  }

  /** @returns {?string} the session id (null before create/attach) */
  get id() { return this._id; }
  /** @returns {?number} the uid bound by authorize (null before) */
  get uid() { return this._uid; }
  /** @returns {?number} the id of the last event delivered */
  get lastEventId() { return this._last; }
  /** @returns {?string} "websocket", "polling", or null when events are not being received */
  get transport() { return this._transport; }
  /** @returns {string} "new", "live", "closed" (close() was called) or "ended" */
  get state() { return this._state; }

  /**
   * Creates a new session (session.create) and starts receiving its events.
   * @returns {Promise<string>} the session id
   */
  async create() {
    this._checkNew();
    this._state = "live";
    try {
      return await this._create();
    } catch (e) {
      if (this._id === null && this._state === "live") this._unstart(); // create() may be tried again
      throw e;
    }
  }

  _unstart() {
    this._stopHeartbeat();
    clearTimeout(this._wsTimer);
    this._wsTimer = null;
    const ws = this._ws;
    this._ws = null;
    this._wsAttached = false;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try { ws.close(1000, "bye"); } catch (_) { /* ignore */ }
    }
    this._state = "new";
    this._setTransport(null);
  }

  async _create() {
    if (this._WS) {
      if (await this._openSocket()) {
        try {
          await this._wsCall("session.create", {}); // the reply set _id and attached the socket
          this._setTransport("websocket");
          return this._id;
        } catch (e) {
          if (e.rc !== RC_NETWORK) throw e;
        }
      }
    }
    const r = await this._http("session.create", {});
    this._id = r.session;
    this._last = 0;
    this._startPolling();
    if (this._WS) {
      // The socket was refused just now: poll, and try it again later.
      this._wsAttempt = 1;
      this._scheduleSocket(delayFor(this._wsAttempt, this._minDelay, this._maxDelay));
    }
    return this._id;
  }

  /**
   * Takes over an existing session (e.g. one whose id a page kept across a reload) and
   * receives its events from `after` on (or from the session's cursor without it).
   * @param {string} session the session id
   * @param {{after?: number}} [opts] id of the last event already processed
   * @returns {Promise<string>} the session id
   */
  async attach(session, opts = {}) {
    this._checkNew();
    // session.set with no settings changes nothing: InvalidSession says the id is no good.
    await this._http("session.set", {session, settings: {}});
    this._state = "live";
    this._id = session;
    this._last = opts.after ?? null;
    this._startReceiving();
    return session;
  }

  /**
   * Logs the session in (session.authorize).
   * @param {{login: string, password: string}|{token: string}} credentials
   * @param {"kill"|"refuse"|"possess"|"auth"|"multi"} [mode] what to do with the user's other
   *   sessions (default "kill"); with "possess" this object continues the existing session
   * @returns {Promise<{uid: number, session: string}>}
   */
  async authorize(credentials, mode) {
    const params = {};
    if (credentials && credentials.token !== undefined) params.token = credentials.token;
    else if (credentials) {
      params.login = credentials.login;
      params.password = credentials.password;
    }
    if (mode !== undefined) params.mode = mode;
    // possess destroys this session on the server before its reply is read here: a poll or
    // an attach that meets InvalidSession meanwhile waits for the reply (see _sessionGone).
    const before = this._id;
    const pending = this._call("session.authorize", params);
    this._authorizing = pending;
    let r;
    try {
      r = await pending;
    } finally {
      if (this._authorizing === pending) this._authorizing = null;
    }
    if (mode !== "auth") this._uid = r.uid;
    const switched = before !== this._id;
    if (r.session && mode !== "auth" && (r.session !== this._id || switched)) {
      // possess: continue the user's existing session from its cursor. Over the socket the
      // reply already switched _id, and the server attached that session (servers before
      // 24f29e0 did not: attaching again is harmless, it goes on from what was pushed).
      if (r.session !== this._id) {
        this._id = r.session;
        this._last = null;
      }
      if (this._ws) this._attachSocket(this._ws).catch(() => {});
    }
    if (this._pollGen && this._pollId !== this._id) this._startPolling(); // restart on the new id
    return r;
  }

  /**
   * Sends a P2P message (message.send). Without `mid`, a random retry key is used, so a send
   * that is retried after a dropped socket is stored and delivered once.
   * @param {number} to the recipient's uid
   * @param {string} msg the text (up to 64 KiB)
   * @param {{mtype?: number, attrs?: string, mid?: (number|bigint|string)}} [opts] mtype defaults to 30
   * @returns {Promise<{mid: bigint, mtime: number}>}
   */
  send(to, msg, opts = {}) {
    return this._send("message.send", {to: toId(to)}, msg, opts);
  }

  /**
   * Sends a message to a group (message.send_group; members only).
   * @param {number} gid the group
   * @param {string} msg the text
   * @param {{mtype?: number, attrs?: string, mid?: (number|bigint|string)}} [opts]
   * @returns {Promise<{mid: bigint, mtime: number}>}
   */
  sendGroup(gid, msg, opts = {}) {
    return this._send("message.send_group", {gid: toId(gid)}, msg, opts);
  }

  /**
   * Sends a message to a room (message.send_room; in the room only).
   * @param {number} rid the room
   * @param {string} msg the text
   * @param {{mtype?: number, attrs?: string, mid?: (number|bigint|string)}} [opts]
   * @returns {Promise<{mid: bigint, mtime: number}>}
   */
  sendRoom(rid, msg, opts = {}) {
    return this._send("message.send_room", {rid: toId(rid)}, msg, opts);
  }

  /**
   * Sends one message to several users (message.send_many).
   * @param {number[]} uids the recipients (1 to 1000)
   * @param {string} msg the text
   * @param {{mtype?: number, attrs?: string, mid?: (number|bigint|string)}} [opts]
   * @returns {Promise<{mid: bigint, mtime: number}>}
   */
  sendMany(uids, msg, opts = {}) {
    return this._send("message.send_many", {to_uids: Array.from(uids, toId)}, msg, opts);
  }

  /**
   * Reads stored messages, newest first (message.history).
   * @param {{with?: number, gid?: number, rid?: number, before_mid?: (number|bigint|string), limit?: number}} query
   *   exactly one of `with` (a uid: the P2P conversation), `gid`, `rid`
   * @returns {Promise<object[]>} the messages
   */
  async history(query = {}) {
    const params = {};
    for (const k of ["with", "gid", "rid", "before_mid", "limit"]) {
      if (query[k] !== undefined && query[k] !== null) params[k] = toId(query[k]);
    }
    const r = await this._call("message.history", params);
    return r.messages;
  }

  /**
   * Subscribes to a topic (session.subscribe): "group:<gid>", "room:<rid>",
   * "channel:<name>", "presence:<uid>".
   * @param {string} topic
   * @returns {Promise<string>} the subscription key, for unsubscribe
   */
  async subscribe(topic) {
    const r = await this._call("session.subscribe", {topic});
    return r.subscription_key;
  }

  /**
   * Ends a subscription (session.unsubscribe; an unknown key is no error).
   * @param {string} key a key from subscribe()
   * @returns {Promise<void>}
   */
  async unsubscribe(key) {
    await this._call("session.unsubscribe", {subscription_key: key});
  }

  /**
   * Changes session settings (session.set): max_events, queue_limit, presence, idle_timeout.
   * @param {object} settings
   * @returns {Promise<object>} all current settings
   */
  async set(settings) {
    const r = await this._call("session.set", {settings});
    return r.settings;
  }

  /**
   * Which of these users are online now (user.online).
   * @param {number[]} uids
   * @returns {Promise<number[]>}
   */
  async online(uids) {
    const r = await this._call("user.online", {uids: Array.from(uids, toId)});
    return r.uids;
  }

  /**
   * Any client method of the API, with this session's id filled in.
   * @param {string} method e.g. "message.send"
   * @param {object} [params]
   * @returns {Promise<object>} the answer's fields (without rc)
   */
  call(method, params = {}) {
    return this._call(method, params);
  }

  /**
   * Ends the session on the server (session.destroy) and stops receiving. An already
   * ended session is no error.
   * @returns {Promise<void>}
   */
  async destroy() {
    if (this._id && this._state === "live") {
      this._destroying = true; // a poll or push that sees the end first leaves it to us
      try {
        await this._call("session.destroy", {});
      } catch (e) {
        // InvalidSession: it had ended already; Closed: its final event came first.
        if (e.name !== "InvalidSession" && this._state !== "ended") {
          this._shutdown("closed");
          throw e;
        }
      }
    }
    this._end({state: "destroyed"});
  }

  /**
   * Stops receiving (closes the socket, stops polling) without ending the session on the
   * server; it expires after its idle_timeout unless attached again. Pending calls reject
   * with name "Closed".
   */
  close() {
    this._shutdown("closed");
  }

  // -- internals: calls -----------------------------------------------------------------

  _checkNew() {
    if (this._state !== "new") throw new Error("rtm: this Session was already started");
  }

  _send(method, target, msg, opts) {
    const params = Object.assign(target, {mtype: opts.mtype ?? 30, msg});
    if (opts.attrs !== undefined) params.attrs = opts.attrs;
    params.mid = opts.mid !== undefined ? toId(opts.mid) : randomMid();
    if (typeof params.mid === "number") params.mid = BigInt(params.mid);
    return this._call(method, params);
  }

  _socketReady() {
    return !!this._ws && this._ws.readyState === 1;
  }

  _call(method, params) {
    if (this._state === "closed" || this._state === "ended") {
      return Promise.reject(closedError(`${method}: the session is ${this._state}`));
    }
    const p = Object.assign({}, params);
    if (method !== "session.create" && this._id !== null && p.session === undefined) p.session = this._id;
    if (this._socketReady()) return this._wsCall(method, p);
    return this._http(method, p);
  }

  _http(method, params, opts = {}) {
    return httpCall(this._fetch, this._base, method, params,
                    Object.assign({timeout: this._callTimeout}, opts));
  }

  _wsCall(method, params, ws = this._ws, timeout = this._callTimeout) {
    return new Promise((resolve, reject) => {
      const id = this._nextId++;
      const entry = {method, params, resolve, reject, ws, timer: null};
      entry.timer = setTimeout(() => {
        this._pending.delete(id);
        reject(networkError(`${method}: no answer within ${timeout} ms`));
      }, timeout);
      this._pending.set(id, entry);
      try {
        ws.send(stringifyJSON({id, method, params}));
      } catch (e) {
        clearTimeout(entry.timer);
        this._pending.delete(id);
        reject(networkError(`${method}: ${e.message}`));
      }
    });
  }

  // The socket went away: calls it carried are made again over HTTP where that is safe.
  _failPending(ws) {
    for (const [id, entry] of this._pending) {
      if (entry.ws !== ws) continue;
      this._pending.delete(id);
      clearTimeout(entry.timer);
      if (this._state !== "live" || NOT_RETRIED.has(entry.method) || entry.method === "session.attach") {
        entry.reject(this._state === "live" ? networkError(`${entry.method}: the socket closed before the answer`)
                                            : closedError(`${entry.method}: the session is ${this._state}`));
      } else {
        this._http(entry.method, entry.params).then(entry.resolve, entry.reject);
      }
    }
  }

  // -- internals: receiving ------------------------------------------------------------------

  _setTransport(name) {
    if (this._transport === name) return;
    this._transport = name;
    safeCall(this, this.ontransport, name);
  }

  _startReceiving() {
    if (this._WS) this._connectSocket();
    else this._startPolling();
  }

  // Whether mid was delivered already (the last 1000 are remembered); remembers it if not.
  _seenMid(mid) {
    if (mid === undefined) return false;
    const key = String(mid);
    if (this._mids.has(key)) return true;
    this._mids.add(key);
    this._midOrder.push(key);
    if (this._midOrder.length > 1000) this._mids.delete(this._midOrder.shift());
    return false;
  }

  _deliver(events) {
    for (const ev of events) {
      if (this._state !== "live") return;
      if (!ev || typeof ev.id !== "number") continue;
      if (this._last !== null && ev.id <= this._last) continue; // seen already
      this._last = ev.id;
      // After a restart of rtmd the messages of the last seconds may come again, with new
      // ids (docs/semantics.md "Restarts"): a message is handed on once, by its mid.
      if (ev.type === "message" && ev.message && this._seenMid(ev.message.mid)) continue;
      safeCall(this, this.onevent, ev);
      switch (ev.type) {
        case "message": safeCall(this, this.onmessage, ev.message, ev); break;
        case "presence": safeCall(this, this.onpresence, ev); break;
        case "room": safeCall(this, this.onroom, ev); break;
        case "gap": safeCall(this, this.ongap, ev); break;
        case "session": this._end({state: ev.state, event: ev}); return;
        default: break;
      }
    }
  }

  _end(info) {
    if (this._state === "ended") return;
    if (this._destroying) info = Object.assign({}, info, {state: "destroyed"});
    const wasLive = this._state === "live" || this._state === "new";
    this._shutdown("ended");
    if (wasLive) safeCall(this, this.onend, info);
  }

  _shutdown(state) {
    if (this._state === "ended" || this._state === "closed") {
      if (state === "ended") this._state = "ended";
      return;
    }
    this._state = state;
    this._stopPolling();
    this._stopHeartbeat();
    clearTimeout(this._wsTimer);
    this._wsTimer = null;
    const ws = this._ws;
    this._ws = null;
    this._wsAttached = false;
    if (ws) {
      this._failPending(ws);
      try { ws.close(1000, "bye"); } catch (_) { /* already closed */ }
    }
    for (const [id, entry] of this._pending) {
      this._pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(closedError(`${entry.method}: the session is ${state}`));
    }
    this._setTransport(null);
  }

  // Opens a socket; resolves true once it is open (it becomes this._ws), false if it fails.
  _openSocket() {
    return new Promise((resolve) => {
      let ws;
      try {
        ws = new this._WS(wsUrl(this._base, "/v1/ws"));
      } catch (e) {
        resolve(false);
        return;
      }
      let opened = false;
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        try { ws.close(); } catch (_) { /* ignore */ }
        resolve(false);
      }, this._connectTimeout);
      ws.onopen = () => {
        if (settled) { try { ws.close(); } catch (_) { /* ignore */ } return; }
        settled = true;
        clearTimeout(timer);
        if (this._state !== "live") {
          try { ws.close(1000, "bye"); } catch (_) { /* ignore */ }
          resolve(false);
          return;
        }
        opened = true;
        this._ws = ws;
        this._wsAttached = false;
        this._startHeartbeat(ws);
        resolve(true);
      };
      ws.onmessage = (e) => this._onSocketMessage(ws, e);
      ws.onerror = () => {};
      ws.onclose = () => {
        clearTimeout(timer);
        if (!opened) {
          if (!settled) { settled = true; resolve(false); }
          return;
        }
        this._onSocketClose(ws);
      };
    });
  }

  _onSocketMessage(ws, e) {
    if (ws === this._ws) this._lastFrame = Date.now();
    let frame;
    try {
      frame = parseJSON(textOf(e.data));
    } catch (_) {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    if (frame.id !== undefined && frame.id !== null) {
      const entry = this._pending.get(frame.id);
      if (!entry) return;
      this._pending.delete(frame.id);
      clearTimeout(entry.timer);
      if (frame.rc === 0) {
        if (entry.ws === this._ws) this._attachedBy(entry, frame);
        delete frame.rc;
        delete frame.id;
        entry.resolve(frame);
      } else {
        entry.reject(replyError(frame));
      }
      return;
    }
    if (frame.event && ws === this._ws && this._wsAttached) this._deliver([frame.event]);
  }

  // Calls that attach the socket to a session take effect when their reply is read, before
  // the next frame (an event of that session may follow in the same read).
  _attachedBy(entry, frame) {
    const m = entry.method;
    if (m === "session.create") {
      this._id = frame.session;
      this._last = 0;
      this._wsAttached = true;
    } else if (m === "session.authorize" && entry.params.mode !== "auth") {
      if (frame.session && frame.session !== this._id) {
        this._id = frame.session; // possess: the existing session, from its cursor
        this._last = null;
      }
      this._wsAttached = true;
    } else if (m === "session.attach" && frame.session === this._id) {
      this._wsAttached = true;
    }
  }

  _onSocketClose(ws) {
    this._failPending(ws);
    if (ws !== this._ws) return;
    this._stopHeartbeat();
    this._ws = null;
    this._wsAttached = false;
    if (this._state !== "live") return;
    // Dropped: try again at once (with a little jitter); poll meanwhile if that fails.
    this._scheduleSocket(delayFor(0, this._minDelay, this._maxDelay));
  }

  // A socket can die without a close (a laptop that slept, a NAT that forgot it): when it has
  // been silent for `heartbeat` ms, a call checks it; no answer in time drops it.
  _startHeartbeat(ws) {
    this._stopHeartbeat();
    this._lastFrame = Date.now();
    if (!this._heartbeat) return;
    this._hbTimer = setInterval(() => {
      if (ws !== this._ws || this._state !== "live") return;
      if (this._hbBusy || !this._id || Date.now() - this._lastFrame < this._heartbeat) return;
      this._hbBusy = true;
      this._wsCall("session.set", {session: this._id, settings: {}}, ws, this._heartbeatTimeout)
        .catch((e) => {
          if (e.rc === RC_NETWORK && ws === this._ws && this._state === "live") this._dropSocket(ws);
        })
        .finally(() => { this._hbBusy = false; });
    }, Math.max(20, Math.floor(this._heartbeat / 2)));
  }

  _stopHeartbeat() {
    clearInterval(this._hbTimer);
    this._hbTimer = null;
    this._hbBusy = false;
  }

  // Gives up on a socket that does not answer: no close handshake to wait for.
  _dropSocket(ws) {
    ws.onclose = null;
    ws.onmessage = null;
    try { ws.close(4000, "no answer"); } catch (_) { /* ignore */ }
    if (typeof ws.terminate === "function") {
      try { ws.terminate(); } catch (_) { /* ignore */ }
    }
    this._onSocketClose(ws);
  }

  _scheduleSocket(ms) {
    clearTimeout(this._wsTimer);
    this._wsTimer = setTimeout(() => {
      this._wsTimer = null;
      this._connectSocket();
    }, ms);
  }

  // Opens a socket and attaches the session with `after`; on failure long-polls and tries
  // again later with backoff.
  async _connectSocket() {
    if (this._wsConnecting || this._state !== "live" || this._ws) return;
    this._wsConnecting = true;
    let ok = false;
    try {
      if (await this._openSocket()) {
        const ws = this._ws;
        try {
          await this._attachSocket(ws);
          ok = true;
        } catch (e) {
          if (e.name === "InvalidSession" && (await this._sessionGone(e))) return;
          if (ws === this._ws) {
            this._ws = null;
            try { ws.close(1000, "attach failed"); } catch (_) { /* ignore */ }
          }
        }
      }
    } finally {
      this._wsConnecting = false;
    }
    if (this._state !== "live") return;
    if (ok) {
      this._wsAttempt = 0;
      this._stopPolling();
      this._setTransport("websocket");
    } else {
      this._wsAttempt++;
      this._startPolling();
      this._scheduleSocket(delayFor(this._wsAttempt, this._minDelay, this._maxDelay));
    }
  }

  async _attachSocket(ws) {
    const params = {session: this._id};
    if (this._last !== null) params.after = this._last;
    await this._wsCall("session.attach", params, ws);
  }

  // The server answered InvalidSession for this._id. Unless an authorize (possess) is about
  // to switch the id, the session is over. Resolves true when it ended.
  async _sessionGone(err) {
    const id = this._id;
    if (this._destroying) return true; // destroy() ends it, as "destroyed"
    if (this._authorizing) {
      await this._authorizing.catch(() => {});
      if (this._id !== id) return false;
    }
    if (this._state !== "live") return true;
    this._end({state: "invalid", error: err});
    return true;
  }

  _stopPolling() {
    this._pollGen = 0;
    if (this._pollAbort) {
      this._pollAbort.abort();
      this._pollAbort = null;
    }
  }

  _startPolling() {
    if (this._state !== "live") return;
    if (this._pollGen && this._pollId === this._id) return; // already running on this session
    this._stopPolling();
    const gen = (this._genCounter = (this._genCounter || 0) + 1);
    this._pollGen = gen;
    this._pollId = this._id;
    this._setTransport("polling");
    this._pollLoop(gen);
  }

  async _pollLoop(gen) {
    let failures = 0;
    while (this._pollGen === gen && this._state === "live") {
      const ctrl = new AbortController();
      this._pollAbort = ctrl;
      const params = {session: this._id, timeout: this._pollTimeout};
      if (this._last !== null) params.after = this._last;
      let r;
      try {
        r = await this._http("session.get_events", params,
                             {timeout: this._pollTimeout * 1000 + 15000, signal: ctrl.signal});
      } catch (e) {
        if (this._pollGen !== gen || this._state !== "live") return;
        if (e.name === "InvalidSession") {
          if (await this._sessionGone(e)) return;
          continue; // the session changed (possess): the loop checks its generation
        }
        failures++;
        safeCall(this, this.onerror, e);
        await sleep(delayFor(failures - 1, this._minDelay, this._maxDelay), ctrl.signal);
        continue;
      }
      failures = 0;
      if (this._pollGen !== gen) return;
      this._deliver(r.events || []);
    }
  }
}

// ---- Channel ------------------------------------------------------------------------------

/**
 * @typedef {object} ChannelOptions
 * @property {string} url base URL of rtmd (default: the page's origin)
 * @property {Function} [WebSocket] WebSocket constructor (default: globalThis.WebSocket); the
 *   socket /v1/channel?token= is used when the server answers it, else channel.poll
 * @property {Function} [fetch] fetch implementation (default: globalThis.fetch)
 * @property {number} [pollTimeout] seconds a poll waits on the server (default 25)
 * @property {number} [minDelay] first retry delay in ms after a failure (default 250)
 * @property {number} [maxDelay] longest retry delay in ms (default 10000)
 */

/**
 * An App Engine-style channel: the application's backend made a token with the server
 * method channel.create; the page receives what the backend sends with channel.send.
 *
 * Handlers: `onopen()`, `onmessage({data})`, `onerror({code, description})` (code is the
 * HTTP status of the error: 401 for an invalid or expired token; the channel then closes),
 * `onclose()`. The channel starts as soon as the constructor's caller has set its handlers.
 */
export class Channel {
  /**
   * @param {string} token a channel token from channel.create
   * @param {ChannelOptions} options
   */
  constructor(token, options = {}) {
    this.token = token;
    this._base = baseUrl(options.url);
    this._fetch = options.fetch || (globalThis.fetch ? globalThis.fetch.bind(globalThis) : null);
    if (!this._fetch) throw new TypeError("rtm: no fetch available; pass options.fetch");
    this._WS = (options.WebSocket !== undefined ? options.WebSocket : globalThis.WebSocket) || null;
    this._pollTimeout = options.pollTimeout ?? 25;
    this._minDelay = options.minDelay ?? 250;
    this._maxDelay = options.maxDelay ?? 10000;
    this._state = "connecting"; // connecting | open | closed
    this._abort = new AbortController();
    this._ws = null;
    /** @type {?function():void} */ this.onopen = null;
    /** @type {?function({data: string}):void} */ this.onmessage = null;
    /** @type {?function({code: number, description: string}):void} */ this.onerror = null;
    /** @type {?function():void} */ this.onclose = null;
    /** "websocket" or "polling" once open */
    this.transport = null;
    queueMicrotask(() => this._run());
  }

  /** @returns {string} "connecting", "open" or "closed" */
  get readyState() { return this._state; }

  /**
   * Closes the channel: stops receiving and calls onclose once.
   */
  close() {
    if (this._state === "closed") return;
    this._state = "closed";
    this._abort.abort();
    if (this._ws) {
      try { this._ws.close(1000, "bye"); } catch (_) { /* ignore */ }
      this._ws = null;
    }
    safeCall(this, this.onclose);
  }

  _opened(transport) {
    this.transport = transport;
    if (this._state !== "connecting") return;
    this._state = "open";
    safeCall(this, this.onopen);
  }

  _fatal(err) {
    if (this._state === "closed") return;
    safeCall(this, this.onerror, {
      code: err.status || HTTP_STATUS[err.rc] || 0,
      description: err.message,
      rc: err.rc,
      name: err.name,
    });
    this.close();
  }

  _message(data) {
    if (this._state === "closed") return;
    safeCall(this, this.onmessage, {data});
  }

  async _run() {
    let failures = 0;
    let trySocket = !!this._WS;
    while (this._state !== "closed") {
      if (trySocket) {
        const r = await this._socketOnce();
        if (r === "fatal" || this._state === "closed") return;
        if (r === "refused") {
          trySocket = false; // never opened: this server polls
        } else {
          // it was open and dropped: open again, after a pause
          await sleep(delayFor(0, this._minDelay, this._maxDelay), this._abort.signal);
          continue;
        }
      }
      const params = {token: this.token, timeout: this._state === "connecting" ? 0 : this._pollTimeout};
      let r;
      try {
        r = await httpCall(this._fetch, this._base, "channel.poll", params,
                           {timeout: params.timeout * 1000 + 15000, signal: this._abort.signal});
      } catch (e) {
        if (this._state === "closed") return;
        if (e.rc > 0 && e.rc !== 1005 && e.rc !== 1500 && e.rc !== 1503) {
          this._fatal(e);
          return;
        }
        failures++;
        await sleep(delayFor(failures - 1, this._minDelay, this._maxDelay), this._abort.signal);
        continue;
      }
      failures = 0;
      this._opened("polling");
      for (const m of r.messages || []) this._message(m);
    }
  }

  // One socket's life: "refused" if it never opened, "dropped" when it closed after opening,
  // "fatal" when it answered a token error.
  _socketOnce() {
    return new Promise((resolve) => {
      let ws;
      try {
        ws = new this._WS(wsUrl(this._base, "/v1/channel?token=" + encodeURIComponent(this.token)));
      } catch (_) {
        resolve("refused");
        return;
      }
      this._ws = ws;
      let opened = false;
      let fatal = false;
      ws.onopen = () => {
        opened = true;
        if (this._state === "closed") { try { ws.close(); } catch (_) { /* ignore */ } return; }
        this._opened("websocket");
      };
      ws.onmessage = (e) => {
        let frame;
        try { frame = parseJSON(textOf(e.data)); } catch (_) { return; }
        if (!frame || typeof frame !== "object") return;
        if (typeof frame.message === "string") this._message(frame.message);
        else if (typeof frame.rc === "number" && frame.rc !== 0) {
          fatal = true;
          this._fatal(replyError(frame));
        }
      };
      ws.onerror = () => {};
      ws.onclose = () => {
        if (this._ws === ws) this._ws = null;
        resolve(fatal ? "fatal" : opened ? "dropped" : "refused");
      };
    });
  }
}
