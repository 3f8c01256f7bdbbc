// Session against a real rtmd: chat both ways over the WebSocket and over long polling, the
// fallback when the upgrade is refused, reconnect and resume after drops, errors, history,
// groups, the end of a session, attach and possess.

import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {WebSocket} from "ws";

import {RC_CLOSED, RtmError, Session} from "../rtm.js";
import {Proxy, Rtmd, recorder, rtmdBinary, sleep, waitFor} from "./harness.mjs";

const bin = rtmdBinary();
const skip = bin.path ? false : bin.why;

describe("Session", {skip}, () => {
  let rtmd;
  const opened = [];
  const proxies = [];

  before(async () => { rtmd = await new Rtmd().start(); });
  after(async () => {
    for (const s of opened) s.close();
    for (const p of proxies) await p.close();
    if (rtmd) await rtmd.cleanup();
  });

  function session(opts = {}) {
    const s = new Session({url: rtmd.url, minDelay: 50, maxDelay: 400, ...opts});
    opened.push(s);
    return s;
  }

  async function login(user, opts = {}, mode) {
    const s = session(opts);
    const rec = recorder(s);
    await s.create();
    await s.authorize({login: user.login, password: user.password}, mode);
    return {s, rec};
  }

  async function proxy() {
    const p = await new Proxy(rtmd.port).listen();
    proxies.push(p);
    return p;
  }

  async function chatBothWays(opts, transport) {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const a = await login(alice, opts);
    const b = await login(bob, opts);
    assert.equal(a.s.transport, transport);
    assert.equal(b.s.transport, transport);
    assert.equal(a.s.uid, alice.uid);

    const sent = await a.s.send(bob.uid, "hi bob", {attrs: "a1"});
    assert.equal(typeof sent.mid, "bigint");
    await waitFor(() => b.rec.messages.length === 1, 5000, "bob's message");
    const m = b.rec.messages[0];
    assert.equal(m.msg, "hi bob");
    assert.equal(m.from, alice.uid);
    assert.equal(m.to, bob.uid);
    assert.equal(m.kind, "p2p");
    assert.equal(m.mtype, 30);
    assert.equal(m.attrs, "a1");
    assert.equal(m.mid, sent.mid);
    assert.equal(b.rec.events[0].type, "message");

    await b.s.send(alice.uid, "hi alice", {mtype: 51});
    await waitFor(() => a.rec.messages.length === 1, 5000, "alice's message");
    assert.equal(a.rec.messages[0].msg, "hi alice");
    assert.equal(a.rec.messages[0].mtype, 51);
    assert.equal(a.s.transport, transport);
    return {alice, bob, a, b};
  }

  test("two sessions chat both ways over the WebSocket", async () => {
    await chatBothWays({WebSocket}, "websocket");
  });

  test("two sessions chat both ways over long polling when there is no WebSocket", async () => {
    // Node 20 has no global WebSocket: without the option the SDK long-polls.
    assert.equal(typeof globalThis.WebSocket, "undefined");
    await chatBothWays({}, "polling");
  });

  test("transport: 'polling' never opens a socket even with a constructor", async () => {
    await chatBothWays({WebSocket, transport: "polling"}, "polling");
  });

  test("calls go over the open socket (no new HTTP connection is needed)", async () => {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const p = await proxy();
    const a = await login(alice, {url: p.url, WebSocket});
    assert.equal(a.s.transport, "websocket");
    const b = await login(bob, {WebSocket});
    p.refuse = true; // any new connection through the proxy is cut at once
    await a.s.send(bob.uid, "over the socket");
    const hist = await a.s.history({with: bob.uid});
    assert.equal(hist[0].msg, "over the socket");
    await waitFor(() => b.rec.messages.length === 1, 5000, "bob's message");
  });

  test("falls back to long polling when the upgrade is refused, and upgrades when it comes back", async () => {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const p = await proxy();
    p.refuseUpgrades = true;
    const a = await login(alice, {url: p.url, WebSocket});
    assert.equal(a.s.transport, "polling");
    assert.ok(p.upgrades >= 1);
    const b = await login(bob, {WebSocket});
    await b.s.send(alice.uid, "one");
    await waitFor(() => a.rec.messages.length === 1, 5000, "message over polling");
    await a.s.send(bob.uid, "back");
    await waitFor(() => b.rec.messages.length === 1, 5000, "bob's message");

    p.refuseUpgrades = false; // the SDK keeps trying the socket with backoff
    await waitFor(() => a.s.transport === "websocket", 5000, "the upgrade");
    await b.s.send(alice.uid, "two");
    await waitFor(() => a.rec.messages.length === 2, 5000, "message over the socket");
    assert.deepEqual(a.rec.messages.map((m) => m.msg), ["one", "two"]);
    assert.deepEqual(a.rec.transports, ["polling", "websocket"]);
  });

  test("reconnects after the socket drops and resumes by after: no loss, no duplicates, in order", async () => {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const p = await proxy();
    const a = await login(alice, {url: p.url, WebSocket});
    assert.equal(a.s.transport, "websocket");
    const b = await login(bob, {});
    const sent = [];
    const say = async (n) => {
      for (let i = 0; i < n; i++) {
        const text = `m${sent.length}`;
        sent.push(text);
        await b.s.send(alice.uid, text);
      }
    };

    await say(10);
    await waitFor(() => a.rec.messages.length === 10, 5000, "the first 10");
    const upgradesBefore = p.upgrades;

    // 1. A drop while messages are being sent.
    const burst = say(20);
    await sleep(5);
    p.dropAll();
    await burst;
    await waitFor(() => a.rec.messages.length === 30, 10000, "30 messages after a drop");

    // 2. A drop, then an outage (every connection refused) during which 10 messages queue.
    p.refuse = true;
    p.dropAll();
    await say(10);
    await sleep(300); // the SDK retries (socket, then polls) and fails meanwhile
    assert.equal(a.rec.messages.length, 30);
    p.refuse = false;
    await waitFor(() => a.rec.messages.length === 40, 10000, "40 messages after the outage");
    await waitFor(() => a.s.transport === "websocket", 10000, "the socket back");

    // 3. Several drops in a row, with sends in between.
    for (let k = 0; k < 3; k++) {
      p.dropAll();
      await say(3);
    }
    await waitFor(() => a.rec.messages.length === 49, 10000, "49 messages");
    await sleep(200);

    assert.deepEqual(a.rec.messages.map((m) => m.msg), sent);
    const ids = a.rec.events.map((e) => e.id);
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1] + 1, `event ids ${ids}`);
    assert.ok(p.upgrades >= upgradesBefore + 3, `reconnected (${p.upgrades - upgradesBefore} upgrades)`);
    assert.equal(a.rec.ends.length, 0);
    await waitFor(() => a.s.transport === "websocket", 10000, "the socket back");
  });

  test("a socket that goes silent without closing is found by the heartbeat and replaced", async () => {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const p = await proxy();
    const a = await login(alice, {url: p.url, WebSocket, heartbeat: 200, heartbeatTimeout: 300});
    const b = await login(bob, {});
    await b.s.send(alice.uid, "before");
    await waitFor(() => a.rec.messages.length === 1, 5000, "the first message");
    const upgrades = p.upgrades;
    p.freeze(); // the socket stays open but nothing passes any more
    for (const text of ["lost 1", "lost 2", "lost 3"]) await b.s.send(alice.uid, text);
    await waitFor(() => a.rec.messages.length === 4, 10000, "the messages sent meanwhile");
    assert.deepEqual(a.rec.messages.map((m) => m.msg), ["before", "lost 1", "lost 2", "lost 3"]);
    assert.ok(p.upgrades > upgrades, "a new socket was opened");
    await waitFor(() => a.s.transport === "websocket", 5000, "the socket back");
    const ids = a.rec.events.map((e) => e.id);
    assert.deepEqual(ids, [1, 2, 3, 4]);
  });

  test("errors reject with rc, name and message over both transports", async () => {
    const alice = await rtmd.addUser("alice");
    for (const opts of [{WebSocket}, {}]) {
      const s = session(opts);
      const rec = recorder(s);
      await s.create();
      await assert.rejects(s.send(alice.uid, "too early"), (e) => {
        assert.ok(e instanceof RtmError);
        assert.ok(e instanceof Error);
        assert.equal(e.rc, 1104);
        assert.equal(e.name, "NotAuthorized");
        assert.equal(typeof e.message, "string");
        return true;
      });
      await assert.rejects(s.authorize({login: alice.login, password: "wrong"}),
                           {rc: 1102, name: "AuthorizeFailed"});
      await s.authorize({login: alice.login, password: alice.password}, "multi");
      await assert.rejects(s.send(alice.uid, "x", {mtype: 300}), {rc: 1002, name: "InvalidParameter"});
      await assert.rejects(s.history({with: alice.uid, limit: 0}), {rc: 1002, name: "InvalidParameter"});
      await assert.rejects(s.call("no.such_method"), {rc: 1003, name: "UnknownMethod"});
      await s.destroy();
      assert.equal(s.state, "ended");
      assert.deepEqual(rec.ends.map((e) => e.state), ["destroyed"]);
      await s.destroy(); // again: nothing to do
      await assert.rejects(s.send(alice.uid, "after"), {rc: RC_CLOSED, name: "Closed"});
    }
  });

  test("create() without a server rejects with NetworkError and can be tried again", async () => {
    const p = await proxy();
    p.refuse = true;
    for (const opts of [{WebSocket}, {}]) {
      const s = session({url: p.url, ...opts});
      const rec = recorder(s);
      await assert.rejects(s.create(), {rc: -1, name: "NetworkError"});
      assert.equal(s.state, "new");
      assert.equal(s.transport, null);
      p.refuse = false;
      await s.create();
      assert.equal(s.transport, opts.WebSocket ? "websocket" : "polling");
      assert.equal(typeof s.id, "string");
      p.refuse = true;
      assert.deepEqual(rec.ends, []);
      s.close();
    }
  });

  test("history: BigInt mids, newest first, before_mid pages; a send retried with its mid is stored once", async () => {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const a = await login(alice, {WebSocket});
    const mids = [];
    for (let i = 0; i < 5; i++) mids.push((await a.s.send(bob.uid, `h${i}`)).mid);
    const again = await a.s.send(bob.uid, "retry", {mid: 123456789012345678n});
    const same = await a.s.send(bob.uid, "retry", {mid: "123456789012345678"});
    assert.equal(same.mid, again.mid);
    const all = await a.s.history({with: bob.uid});
    assert.deepEqual(all.map((m) => m.msg), ["retry", "h4", "h3", "h2", "h1", "h0"]);
    assert.deepEqual(all.slice(1).map((m) => m.mid), mids.slice().reverse());
    const page = await a.s.history({with: bob.uid, before_mid: mids[3], limit: 2});
    assert.deepEqual(page.map((m) => m.msg), ["h2", "h1"]);
  });

  test("groups: subscribe, sendGroup, sendMany, unsubscribe", async () => {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const carol = await rtmd.addUser("carol");
    const gid = 100 + Math.floor(Math.random() * 1e6);
    await rtmd.server("group.add_members", {gid, uids: [alice.uid, bob.uid]});
    const a = await login(alice, {WebSocket});
    const b = await login(bob, {});
    const c = await login(carol, {WebSocket});
    const key = await b.s.subscribe(`group:${gid}`);
    assert.equal(typeof key, "string");
    await a.s.sendGroup(gid, "to the group");
    await waitFor(() => b.rec.messages.length === 1, 5000, "group message");
    assert.equal(b.rec.messages[0].kind, "group");
    assert.equal(b.rec.messages[0].gid, gid);
    await assert.rejects(c.s.subscribe(`group:${gid}`), {name: "PermissionDenied"});

    await a.s.sendMany([bob.uid, carol.uid], "to two");
    await waitFor(() => b.rec.messages.length === 2 && c.rec.messages.length === 1, 5000, "multi");
    assert.equal(c.rec.messages[0].kind, "multi");

    await b.s.unsubscribe(key);
    await a.s.sendGroup(gid, "not for bob's session now");
    await a.s.send(bob.uid, "marker");
    await waitFor(() => b.rec.messages.length === 3, 5000, "marker");
    assert.equal(b.rec.messages[2].msg, "marker");
    assert.deepEqual(await a.s.online([alice.uid, bob.uid]), [alice.uid, bob.uid]);
  });

  test("rooms and presence: onroom, onpresence, sendRoom", async () => {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const rid = 100 + Math.floor(Math.random() * 1e6);
    const a = await login(alice, {WebSocket});
    const rooms = [];
    const presence = [];
    a.s.onroom = (ev) => rooms.push(ev);
    a.s.onpresence = (ev) => presence.push(ev);
    await a.s.subscribe(`presence:${bob.uid}`);
    await a.s.subscribe(`room:${rid}`);
    const b = await login(bob, {});
    await waitFor(() => presence.some((e) => e.uid === bob.uid && e.state === "online"), 5000, "bob online");
    await b.s.subscribe(`room:${rid}`);
    await waitFor(() => rooms.some((e) => e.uid === bob.uid && e.state === "entered"), 5000, "bob entered");
    await b.s.sendRoom(rid, "hello room");
    await waitFor(() => a.rec.messages.length === 1, 5000, "room message");
    assert.equal(a.rec.messages[0].kind, "room");
    assert.equal(a.rec.messages[0].rid, rid);
    await b.s.destroy();
    await waitFor(() => presence.some((e) => e.uid === bob.uid && e.state === "offline"), 5000, "bob offline");
    assert.equal(b.s.state, "ended");
    assert.deepEqual(b.rec.ends.map((e) => e.state), ["destroyed"]);
  });

  for (const [name, opts] of [["WebSocket", {WebSocket}], ["polling", {}]]) {
    test(`a session killed by a new login ends with onend (${name})`, async () => {
      const alice = await rtmd.addUser("alice");
      const first = await login(alice, opts);
      const second = await login(alice, opts); // mode kill (the default)
      await waitFor(() => first.rec.ends.length === 1, 5000, "onend");
      assert.equal(first.rec.ends[0].state, "killed");
      assert.equal(first.rec.events.at(-1).type, "session");
      assert.equal(first.s.state, "ended");
      assert.equal(first.s.transport, null);
      assert.equal(second.s.state, "live");
    });
  }

  test("attach resumes a session after close(): queued events arrive once", async () => {
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const a = await login(alice, {WebSocket});
    const b = await login(bob, {});
    await b.s.send(alice.uid, "before");
    await waitFor(() => a.rec.messages.length === 1, 5000, "first");
    const id = a.s.id;
    const last = a.s.lastEventId;
    a.s.close();
    await b.s.send(alice.uid, "while away 1");
    await b.s.send(alice.uid, "while away 2");
    for (const opts of [{WebSocket}, {}]) {
      const s = session(opts);
      const rec = recorder(s);
      await s.attach(id, {after: last});
      await waitFor(() => rec.messages.length === 2, 5000, "queued events");
      assert.deepEqual(rec.messages.map((m) => m.msg), ["while away 1", "while away 2"]);
      s.close();
    }
    await assert.rejects(session({}).attach("no-such-session"), {name: "InvalidSession"});
  });

  for (const [name, opts] of [["WebSocket", {WebSocket}], ["polling", {}]]) {
    test(`authorize mode possess continues the existing session with its queued events (${name})`, async () => {
      const alice = await rtmd.addUser("alice");
      const bob = await rtmd.addUser("bob");
      // alice's first session reads nothing (plain HTTP calls), so "queued" waits in it.
      const call = async (method, params) => (await fetch(`${rtmd.url}/v1/${method}`, {
        method: "POST", body: JSON.stringify(params)})).json();
      const oldId = (await call("session.create", {})).session;
      assert.equal((await call("session.authorize", {session: oldId, login: alice.login,
                                                     password: alice.password})).rc, 0);
      const b = await login(bob, {});
      await b.s.send(alice.uid, "queued");
      const s = session(opts);
      const rec = recorder(s);
      await s.create();
      const r = await s.authorize({login: alice.login, password: alice.password}, "possess");
      assert.equal(r.session, oldId);
      assert.equal(s.id, oldId);
      assert.equal(s.uid, alice.uid);
      await b.s.send(alice.uid, "live");
      await waitFor(() => rec.messages.length === 2, 5000, "queued and live messages");
      assert.deepEqual(rec.messages.map((m) => m.msg), ["queued", "live"]);
      assert.equal(s.transport, name === "WebSocket" ? "websocket" : "polling");
    });
  }
});

describe("Session across a server restart", {skip}, () => {
  let rtmd;
  before(async () => { rtmd = await new Rtmd().start(); });
  after(async () => { if (rtmd) await rtmd.cleanup(); });

  for (const [name, opts] of [["WebSocket", {WebSocket}], ["polling", {}]]) {
    test(`SIGTERM and a restart on the same port: the SDK reconnects and resumes its session (${name})`, async () => {
      const alice = await rtmd.addUser("alice");
      const bob = await rtmd.addUser("bob");
      const a = new Session({url: rtmd.url, minDelay: 50, maxDelay: 300, ...opts});
      const rec = recorder(a);
      await a.create();
      await a.authorize({login: alice.login, password: alice.password});
      const b = new Session({url: rtmd.url});
      await b.create();
      await b.authorize({login: bob.login, password: bob.password});
      await b.send(alice.uid, "before");
      await waitFor(() => rec.messages.length === 1, 5000, "the first message");
      b.close();
      await rtmd.restart();
      // The server keeps sessions across a restart (docs/semantics.md "Restarts"): the SDK
      // resumes, gets what was sent meanwhile, and hands each message on once.
      const b2 = new Session({url: rtmd.url});
      await b2.create();
      await b2.authorize({login: bob.login, password: bob.password});
      await b2.send(alice.uid, "after");
      await waitFor(() => rec.messages.length === 2, 10000, "the message sent after the restart");
      assert.deepEqual(rec.messages.map((m) => m.msg), ["before", "after"]);
      assert.deepEqual(rec.ends, []);
      assert.equal(a.state, "live");
      a.close();
      b2.close();
    });
  }
});
