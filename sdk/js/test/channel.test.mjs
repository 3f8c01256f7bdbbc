// Channel against a real rtmd: the backend makes a token (channel.create) and sends
// (channel.send); the Channel receives. Skipped when the server has no channel methods.

import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {WebSocket} from "ws";

import {Channel} from "../rtm.js";
import {Rtmd, rtmdBinary, waitFor} from "./harness.mjs";

const bin = rtmdBinary();

describe("Channel", {skip: bin.path ? false : bin.why}, () => {
  let rtmd;
  let noChannels = false;
  const channels = [];

  before(async () => {
    rtmd = await new Rtmd().start();
    try {
      await rtmd.server("channel.create", {client_id: "probe"});
    } catch (e) {
      if (e.error !== "UnknownMethod") throw e;
      noChannels = true;
    }
  });
  after(async () => {
    for (const c of channels) c.close();
    if (rtmd) await rtmd.cleanup();
  });

  function open(token, opts) {
    const c = new Channel(token, {url: rtmd.url, minDelay: 50, maxDelay: 400, ...opts});
    channels.push(c);
    const rec = {opens: 0, data: [], errors: [], closes: 0};
    c.onopen = () => rec.opens++;
    c.onmessage = (m) => rec.data.push(m.data);
    c.onerror = (e) => rec.errors.push(e);
    c.onclose = () => rec.closes++;
    return {c, rec};
  }

  for (const [name, opts] of [["WebSocket constructor given", {WebSocket}], ["no WebSocket", {}]]) {
    test(`receives what the server API sends with channel.send (${name})`, async (t) => {
      if (noChannels) {
        t.skip("the server has no channel methods yet (channel.create answers UnknownMethod)");
        return;
      }
      const clientId = `c-${name.length}-${Date.now()}`;
      const {token} = await rtmd.server("channel.create", {client_id: clientId, duration_minutes: 5});
      await rtmd.server("channel.send", {client_id: clientId, message: "queued before open"});
      const {c, rec} = open(token, opts);
      await waitFor(() => rec.opens === 1, 5000, "onopen");
      assert.equal(c.readyState, "open");
      assert.ok(["websocket", "polling"].includes(c.transport));
      await waitFor(() => rec.data.length === 1, 5000, "the queued message");
      await rtmd.server("channel.send", {client_id: clientId, message: "hello"});
      await rtmd.server("channel.send", {client_id: clientId, message: "wörld ✓"});
      await waitFor(() => rec.data.length === 3, 5000, "two more messages");
      assert.deepEqual(rec.data, ["queued before open", "hello", "wörld ✓"]);
      const info = await rtmd.server("channel.info", {client_id: clientId});
      assert.equal(info.connected, true);
      assert.equal(rec.errors.length, 0);
      c.close();
      c.close();
      assert.equal(rec.closes, 1);
      assert.equal(c.readyState, "closed");
      await rtmd.server("channel.send", {client_id: clientId, message: "after close"});
      assert.equal(rec.data.length, 3);
    });
  }

  test("a bad token: onerror with code 401, then onclose", async (t) => {
    if (noChannels) {
      t.skip("the server has no channel methods yet (channel.create answers UnknownMethod)");
      return;
    }
    const {c, rec} = open("not-a-token", {WebSocket});
    await waitFor(() => rec.closes === 1, 5000, "onclose");
    assert.equal(rec.opens, 0);
    assert.equal(rec.errors.length, 1);
    assert.equal(rec.errors[0].code, 401);
    assert.equal(rec.errors[0].name, "InvalidToken");
    assert.equal(typeof rec.errors[0].description, "string");
    assert.equal(c.readyState, "closed");
  });
});

// rtmd has no /v1/channel socket yet (API.md section 7 names it). Until it has, this checks
// the SDK's side of it against a stand-in that speaks the contract's frames
// ({"message":"..."} pushed; a token error answered as an error reply, then close).
describe("Channel over the /v1/channel WebSocket (stand-in server)", () => {
  let wss;
  let url;
  const conns = [];

  before(async () => {
    const {WebSocketServer} = await import("ws");
    wss = new WebSocketServer({host: "127.0.0.1", port: 0});
    await new Promise((r) => wss.once("listening", r));
    url = `http://127.0.0.1:${wss.address().port}`;
    wss.on("connection", (ws, req) => {
      const u = new URL(req.url, "http://x");
      if (u.pathname !== "/v1/channel") return ws.close(1008);
      if (u.searchParams.get("token") !== "good") {
        ws.send(JSON.stringify({rc: 1201, error: "TokenExpired", msg: "the token's time is over"}));
        return ws.close(1008);
      }
      conns.push(ws);
    });
  });
  after(() => new Promise((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));

  test("messages are pushed; a dropped socket is opened again; close() ends it", async () => {
    const c = new Channel("good", {url, WebSocket, minDelay: 20, maxDelay: 100});
    const data = [];
    let opens = 0;
    let closes = 0;
    c.onopen = () => opens++;
    c.onmessage = (m) => data.push(m.data);
    c.onclose = () => closes++;
    await waitFor(() => conns.length === 1 && opens === 1, 5000, "the socket");
    assert.equal(c.transport, "websocket");
    conns[0].send(JSON.stringify({message: "a"}));
    conns[0].send(JSON.stringify({message: "b"}));
    await waitFor(() => data.length === 2, 5000, "two messages");
    conns[0].terminate();
    await waitFor(() => conns.length === 2, 5000, "the socket again");
    conns[1].send(JSON.stringify({message: "c"}));
    await waitFor(() => data.length === 3, 5000, "the third message");
    assert.deepEqual(data, ["a", "b", "c"]);
    assert.equal(opens, 1);
    assert.equal(closes, 0);
    c.close();
    assert.equal(closes, 1);
    await waitFor(() => conns[1].readyState === 3, 5000, "the socket closed");
  });

  test("a token error on the socket: onerror 401, onclose, no polling", async () => {
    const c = new Channel("stale", {url, WebSocket});
    const errors = [];
    let closes = 0;
    c.onerror = (e) => errors.push(e);
    c.onclose = () => closes++;
    await waitFor(() => closes === 1, 5000, "onclose");
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 401);
    assert.equal(errors[0].name, "TokenExpired");
  });
});
