// The SDK across a restart of rtmd on its embedded store. rtmd keeps every authorized session
// across SIGTERM and kill -9 (same id, settings, subscriptions, unread messages; event ids go
// on increasing, from a higher range), so a WebSocket Session that loses its socket to the
// restart reconnects on its own, attaches with `after`, keeps its id, gets what it missed and
// never calls onend.

import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {WebSocket} from "ws";

import {Session} from "../rtm.js";
import {Proxy, Rtmd, recorder, rtmdBinary, sleep, waitFor} from "./harness.mjs";

const bin = rtmdBinary();
const skip = bin.path ? false : bin.why;

describe("Session across a restart of rtmd", {skip}, () => {
  let rtmd;
  const opened = [];
  const proxies = [];

  before(async () => { rtmd = await new Rtmd().start(); });
  after(async () => {
    for (const s of opened) s.close();
    for (const p of proxies) await p.close();
    if (rtmd) await rtmd.cleanup();
  });

  // A WebSocket-push session of a new user, with short reconnect delays.
  async function pushSession(url) {
    const user = await rtmd.addUser("bob");
    const s = new Session({url, WebSocket, minDelay: 20, maxDelay: 200});
    opened.push(s);
    const rec = recorder(s);
    await s.create();
    await s.authorize({login: user.login, password: user.password});
    assert.equal(s.transport, "websocket");
    return {user, s, rec};
  }

  // A P2P message from `from` to `to` by the server API; resolves with its (BigInt) mid once
  // rtmd answered rc 0, that is once it is stored.
  async function send(from, to, msg) {
    const r = await rtmd.server("message.send", {from: from.uid, to: to.uid, mtype: 30, msg});
    assert.equal(typeof r.mid, "bigint");
    return r.mid;
  }

  const mids = (rec) => rec.messages.map((m) => m.mid);
  const has = (rec, wanted) => wanted.every((mid) => mids(rec).includes(mid));

  test("SIGTERM and a start on the same data dir and port: the session goes on, no onend", async () => {
    const alice = await rtmd.addUser("alice");
    const {user: bob, s, rec} = await pushSession(rtmd.url);
    const id = s.id;
    const first = await send(alice, bob, "before the restart");
    await waitFor(() => has(rec, [first]), 5000, "the first message");
    const lastBefore = s.lastEventId;
    const port = rtmd.port;

    await rtmd.restart(); // asserts exit code 0
    assert.equal(rtmd.port, port);
    // Sent as soon as rtmd answers again: the SDK is most likely still between two tries, so
    // it gets this one by session.attach with `after`; if it is back already, by the push.
    const missed = await send(alice, bob, "sent while the SDK was away");
    await waitFor(() => has(rec, [missed]), 10000, "the message sent around the restart");
    await waitFor(() => s.transport === "websocket", 10000, "the socket back");
    const live = await send(alice, bob, "pushed after the restart");
    await waitFor(() => has(rec, [live]), 5000, "the message pushed after the restart");

    assert.deepEqual(rec.ends, []);
    assert.equal(s.state, "live");
    assert.equal(s.id, id);
    // A clean stop wrote where the reader stood: each message once, in order, and no gap.
    assert.deepEqual(mids(rec), [first, missed, live]);
    assert.deepEqual(rec.events.map((e) => e.type), ["message", "message", "message"]);
    const ids = rec.events.map((e) => e.id);
    assert.ok(ids[1] > lastBefore && ids[2] > ids[1], `event ids ${ids}`);
    // The session still sends: its login came back with it.
    await s.send(alice.uid, "bob is back");
  });

  test("kill -9 and a start on the same data dir and port: no stored message is lost, no onend", async () => {
    const alice = await rtmd.addUser("alice");
    // A proxy between the SDK and rtmd decides what the SDK can have received when rtmd dies.
    const p = await new Proxy(rtmd.port).listen();
    proxies.push(p);
    const {user: bob, s, rec} = await pushSession(p.url);
    const id = s.id;
    const received = [];
    for (let i = 0; i < 5; i++) received.push(await send(alice, bob, `received ${i}`));
    await waitFor(() => has(rec, received), 5000, "the first messages");
    const lastBefore = s.lastEventId;
    // Cut off (every connection refused, so it cannot poll either) while rtmd stores two more
    // for it, then killed at once: rtmd may not have recorded yet that the first ones were
    // read, so they may come again.
    p.refuse = true;
    p.dropAll();
    const queued = [await send(alice, bob, "queued 1"), await send(alice, bob, "queued 2")];

    await rtmd.restartAfterKill9();
    const afterRestart = await send(alice, bob, "sent after the restart");
    p.refuse = false; // the SDK's next try gets through, to the new rtmd
    // The stream is replayed in order: once the last one is here, the others came before it.
    await waitFor(() => has(rec, [afterRestart]), 10000, "the message sent after the restart");
    const missing = [...queued, afterRestart].filter((mid) => !mids(rec).includes(mid));
    assert.deepEqual(missing, [], `lost: ${missing}`);
    await waitFor(() => s.transport === "websocket", 10000, "the socket back");
    const live = await send(alice, bob, "pushed after the restart");
    await waitFor(() => has(rec, [live]), 5000, "the message pushed after the restart");

    assert.deepEqual(rec.ends, []);
    assert.equal(s.state, "live");
    assert.equal(s.id, id);
    // kill -9 may give some back again (with new ids), never one that was not sent.
    const sent = [...received, ...queued, afterRestart, live];
    assert.ok(mids(rec).every((mid) => sent.includes(mid)), `mids ${mids(rec)}`);
    assert.deepEqual(mids(rec).slice(-4), [...queued, afterRestart, live]);
    assert.ok(rec.events.every((e) => e.type === "message"), "no gap");
    const ids = rec.events.map((e) => e.id);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `event ids ${ids}`);
    assert.ok(ids[received.length] > lastBefore);
    await s.send(alice.uid, "bob is back");
  });

  // rtmd counts a message as read once it has pushed it into the socket (docs/websocket.md),
  // but a restart gives back every message the session kept (kept_position), the read ones as
  // read: a client whose socket never delivered the bytes attaches again with `after` and
  // gets them, as it would without a restart (docs/semantics.md "Restarts").
  for (const how of ["SIGTERM", "kill -9"]) {
    test(`${how}: messages pushed into a socket that never delivered them are not lost`, async () => {
      const alice = await rtmd.addUser("alice");
      const p = await new Proxy(rtmd.port).listen();
      proxies.push(p);
      const {user: bob, s, rec} = await pushSession(p.url);
      const first = await send(alice, bob, "received");
      await waitFor(() => has(rec, [first]), 5000, "the first message");
      p.freeze(); // the socket stays open and passes nothing: rtmd writes, the SDK reads nothing
      const unseen = [await send(alice, bob, "pushed, not received 1"),
                      await send(alice, bob, "pushed, not received 2")];
      p.refuse = true;
      p.dropAll();
      // rtmd records where its readers stand every 100 ms: give it time to record the pushes
      // as read before it is killed (SIGTERM records them anyway).
      await sleep(350);
      if (how === "SIGTERM") await rtmd.restart();
      else await rtmd.restartAfterKill9();
      const afterRestart = await send(alice, bob, "sent after the restart");
      p.refuse = false;
      await waitFor(() => has(rec, [afterRestart]), 10000, "the message sent after the restart");
      assert.deepEqual(rec.ends, []);
      const missing = unseen.filter((mid) => !mids(rec).includes(mid));
      assert.deepEqual(missing, [], `lost: ${missing}`);
    });
  }
});
