// The SDK against rtmd serving HTTPS/WSS (--tls-cert): an https:// url makes the Session
// and the Channel use wss:// and https, with the certificate verified (run-tests.sh makes it
// and has node trust it). Long polling over https too.

import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {WebSocket} from "ws";

import {Channel, Session} from "../rtm.js";
import {Rtmd, recorder, rtmdBinary, testCertificate, waitFor} from "./harness.mjs";

const bin = rtmdBinary();
const cert = testCertificate();
const skip = !bin.path ? bin.why : !cert ? "no test certificate (run through run-tests.sh)" : false;

describe("SDK over TLS", {skip}, () => {
  let rtmd;
  const opened = [];

  before(async () => { rtmd = await new Rtmd([], {tls: cert}).start(); });
  after(async () => {
    for (const s of opened) s.close();
    if (rtmd) await rtmd.cleanup();
  });

  async function login(opts) {
    const user = await rtmd.addUser("tls");
    const s = new Session({url: rtmd.url, minDelay: 50, maxDelay: 400, ...opts});
    opened.push(s);
    const rec = recorder(s);
    await s.create();
    await s.authorize({login: user.login, password: user.password});
    return {s, rec, user};
  }

  test("the url is https and messages go both ways over wss", async () => {
    assert.match(rtmd.url, /^https:\/\//);
    const a = await login({WebSocket});
    const b = await login({WebSocket});
    assert.equal(a.s.transport, "websocket");
    await a.s.send(b.user.uid, "over wss");
    await b.s.send(a.user.uid, "and back");
    await waitFor(() => b.rec.messages.length === 1 && a.rec.messages.length === 1, 5000,
                  "both messages");
    assert.equal(b.rec.messages[0].msg, "over wss");
    assert.equal(a.rec.messages[0].msg, "and back");
  });

  test("long polling over https when there is no WebSocket", async () => {
    const a = await login({WebSocket: null});
    const b = await login({WebSocket: null});
    assert.equal(b.s.transport, "polling");
    await a.s.send(b.user.uid, "polled over https");
    await waitFor(() => b.rec.messages.length === 1, 5000, "the message");
    assert.equal(b.rec.messages[0].msg, "polled over https");
  });

  test("a channel opened with an https url is pushed over wss", async () => {
    const {token} = await rtmd.server("channel.create", {client_id: "tls-channel"});
    const c = new Channel(token, {url: rtmd.url, WebSocket, minDelay: 20, maxDelay: 100});
    const data = [];
    c.onmessage = (m) => data.push(m.data);
    await waitFor(async () => (await rtmd.server("channel.info", {client_id: "tls-channel"})).connected,
                  5000, "the channel to connect");
    await rtmd.server("channel.send", {client_id: "tls-channel", message: "secure"});
    await waitFor(() => data.length === 1, 5000, "the channel message");
    assert.deepEqual(data, ["secure"]);
    c.close();
  });
});
