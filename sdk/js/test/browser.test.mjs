// The SDK in a real browser (headless Chromium), when one is installed: a page served from
// the same origin as rtmd (a small Node front that serves the page and rtm.js and passes /v1/
// and the WebSocket upgrade to rtmd) imports rtm.js as a module and chats with the browser's
// own WebSocket and fetch, survives a dropped socket, and reads a Channel.
// Skipped without a browser; $CHROMIUM names one.

import assert from "node:assert/strict";
import {execFileSync, spawn} from "node:child_process";
import {mkdtempSync, readFileSync, rmSync} from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {after, before, describe, test} from "node:test";

import {Rtmd, rtmdBinary} from "./harness.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));

function findBrowser() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], {encoding: "utf8"}).trim() || null;
    } catch (_) { /* not this one */ }
  }
  return null;
}

const bin = rtmdBinary();
const browser = findBrowser();
const skip = !bin.path ? bin.why : !browser ? "no Chromium found (set CHROMIUM)" : false;

const PAGE = `<!doctype html><meta charset="utf-8"><title>rtm sdk</title>
<script type="module">
import {Session, Channel} from "/sdk/rtm.js";
const q = new URLSearchParams(location.search);
const out = {steps: []};
const report = (o) => fetch("/result", {method: "POST", body: JSON.stringify(o)});
const until = (pred, ms = 10000) => new Promise((resolve, reject) => {
  const end = Date.now() + ms;
  const t = setInterval(() => {
    if (pred()) { clearInterval(t); resolve(); }
    else if (Date.now() > end) { clearInterval(t); reject(new Error("timeout")); }
  }, 10);
});
try {
  const a = new Session({url: location.origin, minDelay: 50, maxDelay: 300});
  const got = [];
  a.onmessage = (m) => got.push(m.msg);
  await a.create();
  await a.authorize({login: q.get("al"), password: q.get("ap")});
  out.aliceTransport = a.transport;
  const b = new Session({transport: "polling"});  // no url: the page's origin
  const bgot = [];
  b.onmessage = (m) => bgot.push(m.msg);
  await b.create();
  await b.authorize({login: q.get("bl"), password: q.get("bp")});
  out.bobTransport = b.transport;
  await b.send(a.uid, "hi alice");
  await until(() => got.length === 1);
  const sent = await a.send(b.uid, "hi bob");
  await until(() => bgot.length === 1);
  out.midType = typeof sent.mid;
  out.historyMatches = (await a.history({with: b.uid, limit: 1}))[0].mid === sent.mid;
  await fetch("/drop", {method: "POST"});       // the front cuts alice's socket
  for (let i = 0; i < 5; i++) await b.send(a.uid, "after drop " + i);
  await until(() => got.length === 6);
  await until(() => a.transport === "websocket");
  out.got = got;
  out.bgot = bgot;
  try { await a.send(b.uid, "x", {mtype: 300}); } catch (e) {
    out.error = {rc: e.rc, name: e.name, isError: e instanceof Error};
  }
  if (q.get("token")) {  // none when the server has no channel methods
    const ch = new Channel(q.get("token"));
    const data = [];
    ch.onmessage = (m) => data.push(m.data);
    await until(() => data.length === 1);
    ch.close();
    out.channel = data;
    out.channelTransport = ch.transport;
  }
  a.close();
  b.close();
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.failure = String(e && e.stack || e);
}
report(out);
</script>`;

describe("Session and Channel in a browser", {skip}, () => {
  let rtmd;
  let front;
  let upgraded = new Set();
  let onResult;
  const result = new Promise((r) => { onResult = r; });

  before(async () => {
    rtmd = await new Rtmd().start();
    front = http.createServer((req, res) => {
      const u = new URL(req.url, "http://x");
      if (req.method === "GET" && u.pathname === "/test.html") {
        res.writeHead(200, {"Content-Type": "text/html"});
        res.end(PAGE);
      } else if (req.method === "GET" && u.pathname === "/sdk/rtm.js") {
        res.writeHead(200, {"Content-Type": "text/javascript"});
        res.end(readFileSync(path.join(HERE, "..", "rtm.js")));
      } else if (u.pathname === "/result") {
        let body = "";
        req.on("data", (d) => { body += d; });
        req.on("end", () => { res.end("{}"); onResult(JSON.parse(body)); });
      } else if (u.pathname === "/drop") {
        for (const s of upgraded) s.destroy();
        upgraded = new Set();
        res.end("{}");
      } else if (u.pathname.startsWith("/v1/")) {
        const up = http.request({host: "127.0.0.1", port: rtmd.port, method: req.method,
                                 path: req.url, headers: req.headers}, (r) => {
          res.writeHead(r.statusCode, r.headers);
          r.pipe(res);
        });
        up.on("error", () => res.destroy());
        req.pipe(up);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    front.on("upgrade", (req, socket, head) => {
      const up = net.connect(rtmd.port, "127.0.0.1", () => {
        let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
        for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
        up.write(raw + "\r\n");
        if (head.length) up.write(head);
        socket.pipe(up);
        up.pipe(socket);
      });
      upgraded.add(socket);
      upgraded.add(up);
      const end = () => { socket.destroy(); up.destroy(); };
      socket.on("error", end);
      up.on("error", end);
      socket.on("close", end);
      up.on("close", end);
    });
    await new Promise((r) => front.listen(0, "127.0.0.1", r));
  });

  after(async () => {
    if (front) {
      for (const s of upgraded) s.destroy();
      front.closeAllConnections();
      await new Promise((r) => front.close(r));
    }
    if (rtmd) await rtmd.cleanup();
  });

  test("chat over the browser's WebSocket and fetch, a dropped socket resumed, a Channel", async () => {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    let token = "";
    let channels = true;
    try {
      token = (await rtmd.server("channel.create", {client_id: "browser"})).token;
      await rtmd.server("channel.send", {client_id: "browser", message: "to the page"});
    } catch (e) {
      if (e.error !== "UnknownMethod") throw e;
      channels = false;
    }
    const q = new URLSearchParams({al: alice.login, ap: alice.password, bl: bob.login,
                                   bp: bob.password, token});
    const url = `http://127.0.0.1:${front.address().port}/test.html?${q}`;
    const profile = mkdtempSync(path.join(os.tmpdir(), "rtm-js-chromium-"));
    const child = spawn(browser, [
      "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
      "--no-first-run", "--no-default-browser-check", `--user-data-dir=${profile}`, url,
    ], {stdio: "ignore", detached: true});
    let timer;
    try {
      const out = await Promise.race([
        result,
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("no result from the page in 60 s")), 60000); }),
      ]);
      assert.equal(out.failure, undefined, out.failure);
      assert.equal(out.ok, true);
      assert.equal(out.aliceTransport, "websocket");
      assert.equal(out.bobTransport, "polling");
      assert.equal(out.midType, "bigint");
      assert.equal(out.historyMatches, true);
      assert.deepEqual(out.got, ["hi alice", ...[0, 1, 2, 3, 4].map((i) => `after drop ${i}`)]);
      assert.deepEqual(out.bgot, ["hi bob"]);
      assert.deepEqual(out.error, {rc: 1002, name: "InvalidParameter", isError: true});
      if (channels) {
        assert.deepEqual(out.channel, ["to the page"]);
        assert.ok(["websocket", "polling"].includes(out.channelTransport));
      }
    } finally {
      clearTimeout(timer);
      try { process.kill(-child.pid, "SIGKILL"); } catch (_) { /* gone */ }
      rmSync(profile, {recursive: true, force: true});
    }
  });
});
