// Test harness: starts the real rtmd on a free loopback port with a temporary data dir and
// an API key of ours, calls its server API, and runs a TCP proxy that tests use to drop or
// refuse connections deterministically.
//
// The binary is $RTMD, else build/bin/rtmd relative to the repository root.
// RTM_KEEP_TMP=1 keeps the data dirs and logs.

import {spawn} from "node:child_process";
import {randomBytes} from "node:crypto";
import {existsSync, mkdtempSync, rmSync} from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

import {parseJSON, stringifyJSON} from "../rtm.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, "..", "..", "..");

/** The rtmd binary, or null (with the reason) when there is none. */
export function rtmdBinary() {
  const env = process.env.RTMD;
  if (env) {
    if (!existsSync(env)) throw new Error(`RTMD=${env} does not exist (build rtmd first)`);
    return {path: env};
  }
  const p = path.join(REPO, "build", "bin", "rtmd");
  return existsSync(p) ? {path: p} : {path: null, why: `rtmd not found at ${p} (set RTMD)`};
}

/** A loopback port nobody listens on right now. */
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

/** Waits until pred() is truthy (polling every 10 ms); throws after `ms` with `what`. */
export async function waitFor(pred, ms = 5000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * The certificate run-tests.sh made for TLS tests ({cert, key}), or null. Node trusts it
 * because run-tests.sh also names it in NODE_EXTRA_CA_CERTS, read when node starts.
 */
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
    this.apiKey = "js-" + randomBytes(16).toString("hex");
    this.tmp = mkdtempSync(path.join(os.tmpdir(), "rtm-js-"));
    this.proc = null;
    this.port = null;
    this.stderr = "";
  }

  get url() {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** Starts rtmd (on `port`, else a free one) and waits for /healthz. */
  async start(port) {
    const bin = rtmdBinary();
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = port || await freePort();
      this.stderr = "";
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("RTM_")));
      this.proc = spawn(bin.path, [
        "--listen", `127.0.0.1:${this.port}`, "--data-dir", path.join(this.tmp, "data"),
        "--api-key", this.apiKey, "--log-level", "warn", ...this.args,
      ], {env, stdio: ["ignore", "ignore", "pipe"]});
      this.proc.stderr.on("data", (d) => { this.stderr += d; });
      const exited = new Promise((r) => this.proc.once("exit", (code) => r(code)));
      this.exited = exited;
      const end = Date.now() + 10000;
      let healthy = false;
      let dead = false;
      exited.then(() => { dead = true; });
      while (Date.now() < end && !dead) {
        try {
          const res = await fetch(`${this.url}/healthz`);
          if (res.status === 200) { healthy = true; break; }
        } catch (_) { /* not yet */ }
        await sleep(50);
      }
      if (healthy) return this;
      if (dead && !port && /in use/i.test(this.stderr)) continue;
      this.proc.kill("SIGKILL");
      throw new Error(`rtmd did not start: ${this.stderr}`);
    }
    throw new Error("could not start rtmd");
  }

  /** SIGTERM; resolves with the exit code (SIGKILL after 5 s). */
  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) {
      return this.proc && this.proc.exitCode;
    }
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  /** SIGTERM (asserting exit code 0), then the same binary on the same port and data dir. */
  async restart() {
    const code = await this.stop();
    if (code !== 0) throw new Error(`rtmd exited with ${code} on SIGTERM: ${this.stderr}`);
    return this.start(this.port);
  }

  /** SIGKILL (kill -9: no chance to write anything); resolves once it has exited. */
  async kill9() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGKILL");
    await this.exited;
  }

  /** kill -9, then the same binary on the same port and data dir. */
  async restartAfterKill9() {
    await this.kill9();
    return this.start(this.port);
  }

  async cleanup() {
    await this.stop();
    if (!process.env.RTM_KEEP_TMP) rmSync(this.tmp, {recursive: true, force: true});
  }

  /**
   * A server method; resolves with the answer, rejects with {rc, error, msg}. Read and
   * written as the SDK does: a 64-bit `mid` comes back as an exact BigInt.
   */
  async server(method, params = {}) {
    const res = await fetch(`${this.url}/v1/server/${method}`, {
      method: "POST",
      headers: {"Authorization": `Bearer ${this.apiKey}`, "Content-Type": "application/json"},
      body: stringifyJSON(params),
    });
    const body = parseJSON(await res.text());
    if (body.rc !== 0) {
      const e = new Error(`${method}: ${body.error}: ${body.msg}`);
      Object.assign(e, body);
      throw e;
    }
    return body;
  }

  /** user.add with a fresh login; resolves with {uid, login, password}. */
  async addUser(prefix = "u") {
    const login = `${prefix}-${randomBytes(4).toString("hex")}`;
    const password = "pw-" + randomBytes(6).toString("hex");
    const r = await this.server("user.add", {login, password});
    return {uid: r.uid, login, password};
  }
}

/**
 * A TCP proxy in front of rtmd. dropAll() cuts every connection (like a network drop);
 * freeze() makes the open ones silent without closing them (a peer that died);
 * refuse = true closes new connections at once; refuseUpgrades = true answers WebSocket
 * upgrades with 404 (as a proxy that does not pass WebSockets) and passes plain HTTP.
 */
export class Proxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.sockets = new Set();
    this.pairs = new Set();
    this.refuse = false;
    this.refuseUpgrades = false;
    this.upgrades = 0; // WebSocket upgrade requests seen
    this.server = net.createServer((client) => this._accept(client));
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  listen() {
    return new Promise((resolve) => {
      this.server.listen(0, "127.0.0.1", () => {
        this.port = this.server.address().port;
        resolve(this);
      });
    });
  }

  _accept(client) {
    if (this.refuse) {
      client.destroy();
      return;
    }
    this.sockets.add(client);
    client.on("close", () => this.sockets.delete(client));
    client.on("error", () => {});
    client.once("data", (first) => {
      const head = first.toString("latin1");
      const upgrade = /\r\nupgrade:\s*websocket/i.test(head);
      if (upgrade) this.upgrades++;
      if (upgrade && this.refuseUpgrades) {
        client.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      const upstream = net.connect(this.targetPort, "127.0.0.1");
      this.sockets.add(upstream);
      upstream.on("close", () => { this.sockets.delete(upstream); client.destroy(); });
      upstream.on("error", () => {});
      client.on("close", () => upstream.destroy());
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
      const pair = {client, upstream};
      this.pairs.add(pair);
      upstream.on("close", () => this.pairs.delete(pair));
    });
  }

  /** Open connections stop passing bytes either way, without closing (a dead peer). */
  freeze() {
    for (const {client, upstream} of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    this.pairs.clear();
  }

  /** Cuts every open connection. */
  dropAll() {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  close() {
    this.dropAll();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Collects the events and messages a Session delivers. */
export function recorder(session) {
  const rec = {events: [], messages: [], ends: [], transports: []};
  session.onevent = (ev) => rec.events.push(ev);
  session.onmessage = (m) => rec.messages.push(m);
  session.onend = (info) => rec.ends.push(info);
  session.ontransport = (t) => rec.transports.push(t);
  return rec;
}

