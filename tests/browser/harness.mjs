// Harness of the browser tests: the real rtmd on a free loopback port (temporary data dir,
// our own API key), headless Chromium through playwright-core, and page helpers.
//
// rtmd is $RTMD, else build/bin/rtmd of the repository. Chromium is $CHROMIUM, else
// /usr/bin/chromium (Debian's `chromium` package; scripts/install-deps.sh installs it).
// RTM_KEEP_TMP=1 keeps the data dirs. RTM_WEB_DEV=1 serves web/ and sdk/js/rtm.js from the
// working tree (a small server in front of rtmd that passes /v1/ and the WebSocket upgrades
// on) instead of the copies embedded in rtmd, to try a change of the page without rebuilding.

import {spawn} from "node:child_process";
import {randomBytes} from "node:crypto";
import {existsSync, mkdtempSync, readFileSync, rmSync} from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, "..", "..");

/** Why these tests cannot run here (no rtmd, no Chromium), or null. */
export function missing() {
  const rtmd = rtmdPath();
  if (!existsSync(rtmd)) return `rtmd not found at ${rtmd} (build it, or set RTMD)`;
  const chromium = chromiumPath();
  if (!existsSync(chromium)) return `Chromium not found at ${chromium} (apt-get install chromium, or set CHROMIUM)`;
  return null;
}

export function rtmdPath() {
  return process.env.RTMD ? path.resolve(process.env.RTMD) : path.join(REPO, "build", "bin", "rtmd");
}

export function chromiumPath() {
  return process.env.CHROMIUM || "/usr/bin/chromium";
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The certificate run-tests.sh made for the TLS test ({cert, key}), or null. */
export function testCertificate() {
  const cert = process.env.RTM_TEST_TLS_CERT;
  const key = process.env.RTM_TEST_TLS_KEY;
  return cert && key && existsSync(cert) && existsSync(key) ? {cert, key} : null;
}

export class Rtmd {
  /** `tls`: {cert, key} to serve https/wss with. */
  constructor(args = [], {tls = null} = {}) {
    this.args = tls ? [...args, "--tls-cert", tls.cert, "--tls-key", tls.key] : args;
    this.scheme = tls ? "https" : "http";
    this.apiKey = "browser-" + randomBytes(16).toString("hex");
    this.tmp = mkdtempSync(path.join(os.tmpdir(), "rtm-browser-"));
    this.proc = null;
    this.port = null;
    this.stderr = "";
    this.front = null; // the RTM_WEB_DEV server
  }

  /** rtmd's own address (the server API). */
  get apiUrl() {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** Where the page is opened: rtmd itself, or the RTM_WEB_DEV server in front of it. */
  get url() {
    return this.front ? `http://127.0.0.1:${this.front.address().port}` : this.apiUrl;
  }

  async start() {
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freePort();
      this.stderr = "";
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("RTM_")));
      this.proc = spawn(rtmdPath(), [
        "--listen", `127.0.0.1:${this.port}`, "--data-dir", path.join(this.tmp, "data"),
        "--api-key", this.apiKey, "--log-level", "warn", ...this.args,
      ], {env, stdio: ["ignore", "ignore", "pipe"]});
      this.proc.stderr.on("data", (d) => { this.stderr += d; });
      this.exited = new Promise((r) => this.proc.once("exit", (code) => r(code)));
      let dead = false;
      this.exited.then(() => { dead = true; });
      const end = Date.now() + 10000;
      let healthy = false;
      while (Date.now() < end && !dead) {
        try {
          const res = await fetch(`${this.apiUrl}/healthz`);
          if (res.status === 200) { healthy = true; break; }
        } catch (_) { /* not yet */ }
        await sleep(50);
      }
      if (healthy) {
        if (process.env.RTM_WEB_DEV === "1") this.front = await devServer(this.port);
        return this;
      }
      if (dead && /in use/i.test(this.stderr)) continue;
      this.proc.kill("SIGKILL");
      throw new Error(`rtmd did not start: ${this.stderr}`);
    }
    throw new Error("could not start rtmd");
  }

  async stop() {
    if (this.front) {
      this.front.closeAllConnections();
      this.front.close();
      this.front = null;
    }
    if (!this.proc || this.proc.exitCode !== null) return this.proc && this.proc.exitCode;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  async cleanup() {
    await this.stop();
    if (!process.env.RTM_KEEP_TMP) rmSync(this.tmp, {recursive: true, force: true});
  }

  /** A server method (/v1/server/<method> with the API key); rejects on rc != 0. */
  async server(method, params = {}) {
    const res = await fetch(`${this.apiUrl}/v1/server/${method}`, {
      method: "POST",
      headers: {"Authorization": `Bearer ${this.apiKey}`, "Content-Type": "application/json"},
      body: JSON.stringify(params),
    });
    const body = await res.json();
    if (body.rc !== 0) throw Object.assign(new Error(`${method}: ${body.error}: ${body.msg}`), body);
    return body;
  }

  /** user.add; resolves with {uid, login, password}. */
  async addUser(login = "u-" + randomBytes(4).toString("hex")) {
    const password = "pw-" + randomBytes(6).toString("hex");
    const r = await this.server("user.add", {login, password});
    return {uid: r.uid, login, password};
  }
}

// RTM_WEB_DEV: web/ and the SDK from the working tree, everything else passed to rtmd.
function devServer(rtmdPort) {
  const files = (p) => {
    if (p === "/") return path.join(REPO, "web", "index.html");
    if (p === "/sdk/rtm.js") return path.join(REPO, "sdk", "js", "rtm.js");
    if (/^\/[A-Za-z0-9._-]+$/.test(p) && !p.startsWith("/.")) return path.join(REPO, "web", p.slice(1));
    return null;
  };
  const types = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"};
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, "http://x").pathname;
    const file = req.method === "GET" ? files(p) : null;
    if (file && existsSync(file)) {
      res.writeHead(200, {"Content-Type": types[path.extname(file)] || "application/octet-stream", "Cache-Control": "no-store"});
      res.end(readFileSync(file));
      return;
    }
    const up = http.request({host: "127.0.0.1", port: rtmdPort, method: req.method, path: req.url, headers: req.headers}, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", () => { res.destroy(); });
    req.pipe(up);
  });
  server.on("upgrade", (req, socket, head) => {
    const up = net.connect(rtmdPort, "127.0.0.1", () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(raw + "\r\n");
      if (head && head.length) up.write(head);
      socket.pipe(up);
      up.pipe(socket);
    });
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
    socket.on("close", () => up.destroy());
    up.on("close", () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Headless Chromium (Debian's package) through playwright-core. */
export async function launchChromium() {
  const {chromium} = await import("playwright-core");
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A new browser context with one page on the demo; console errors and page errors are
 * collected in page.problems (the tests assert there are none).
 */
export async function openDemo(browser, rtmd, {query = "", viewport = {width: 1280, height: 800}, context: extra = {}} = {}) {
  const context = await browser.newContext({viewport, ...extra});
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") page.problems.push(`console: ${m.text()}`); });
  await page.goto(`${rtmd.url}/${query}`);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}

/** Fills the login form and waits for the chat view. */
export async function login(page, user) {
  await page.fill("#login", user.login);
  await page.fill("#password", user.password);
  await page.click("#login-button");
  await page.waitForSelector("#chat-view:not([hidden])");
  await page.waitForFunction((uid) => document.querySelector("#me-uid").textContent === String(uid), user.uid);
}

/** Adds a contact by uid (optionally named) and opens the conversation. */
export async function addContact(page, uid, name = "") {
  await page.fill("#add-contact-uid", String(uid));
  await page.fill("#add-contact-name", name);
  await page.click("#add-contact-button");
  await page.waitForSelector(`#conversation[data-key="u:${uid}"]`);
}

export async function joinRoom(page, rid) {
  await page.fill("#join-room-rid", String(rid));
  await page.click("#join-room-button");
  await page.waitForSelector(`#conversation[data-key="r:${rid}"]`);
}

/** Types a message in the open conversation and sends it with Enter; waits for the answer. */
export async function say(page, text) {
  await page.fill("#composer-input", text);
  await page.press("#composer-input", "Enter");
  await page.waitForFunction((t) => [...document.querySelectorAll('#messages [data-testid=message][data-mine=true]')]
    .some((m) => m.dataset.mid && !m.dataset.pending && m.querySelector(".msg-text").textContent === t), text);
}

/** The texts of the messages shown in the open conversation, oldest first. */
export function shownTexts(page) {
  return page.$$eval("#messages [data-testid=message] .msg-text", (ns) => ns.map((n) => n.textContent));
}

/** Waits until a message with this text is shown in the open conversation. */
export function waitForText(page, text, timeout = 10000) {
  return page.waitForFunction((t) => [...document.querySelectorAll("#messages [data-testid=message] .msg-text")]
    .some((n) => n.textContent === t), text, {timeout});
}
