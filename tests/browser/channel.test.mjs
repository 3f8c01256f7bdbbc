// A page holding a Channel of the browser SDK (imported from /sdk/rtm.js as rtmd serves it)
// receives what the application's backend sends with the server method channel.send.

import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";

import {Rtmd, launchChromium, missing} from "./harness.mjs";

const why = missing();

// Runs in the page: opens a Channel and records what happens in window.channels[name].
function openChannel([name, token, opts]) {
  return import("/sdk/rtm.js").then(({Channel}) => {
    window.channels = window.channels || {};
    const rec = {events: [], messages: [], transport: null};
    window.channels[name] = rec;
    const ch = new Channel(token, opts.polling ? {WebSocket: null, pollTimeout: 5} : {});
    rec.channel = ch;
    ch.onopen = () => { rec.events.push("open"); rec.transport = ch.transport; };
    ch.onmessage = ({data}) => rec.messages.push(data);
    ch.onerror = ({code, name: err}) => rec.events.push(`error ${code} ${err}`);
    ch.onclose = () => rec.events.push("close");
  });
}

describe("Channel in a browser page", {skip: why || false}, () => {
  let rtmd;
  let browser;
  let page;
  const problems = [];

  before(async () => {
    rtmd = await new Rtmd().start();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`${rtmd.url}/`);
  });

  after(async () => {
    assert.deepEqual(problems, []);
    if (browser) await browser.close();
    if (rtmd) await rtmd.cleanup();
  });

  const rec = (name) => page.evaluate((n) => {
    const r = window.channels[n];
    return {events: r.events, messages: r.messages, transport: r.transport};
  }, name);

  async function waitMessages(name, n) {
    await page.waitForFunction(([nm, k]) => window.channels[nm].messages.length >= k, [name, n]);
    return (await rec(name)).messages;
  }

  test("over the WebSocket: queued and live channel.send messages arrive in order", async () => {
    const {token} = await rtmd.server("channel.create", {client_id: "page-ws", duration_minutes: 5});
    await rtmd.server("channel.send", {client_id: "page-ws", message: "queued before the page connected"});
    await page.evaluate(openChannel, ["ws", token, {}]);
    await page.waitForFunction(() => window.channels.ws.events.includes("open"));
    assert.equal((await rec("ws")).transport, "websocket");
    await waitMessages("ws", 1);
    await rtmd.server("channel.send", {client_id: "page-ws", message: "hello page"});
    await rtmd.server("channel.send", {client_id: "page-ws", message: JSON.stringify({score: 3, ünïcode: "✓"})});
    const got = await waitMessages("ws", 3);
    assert.deepEqual(got, ["queued before the page connected", "hello page", '{"score":3,"ünïcode":"✓"}']);
    const info = await rtmd.server("channel.info", {client_id: "page-ws"});
    assert.equal(info.connected, true);
    assert.equal(info.pending, 0);
    await page.evaluate(() => window.channels.ws.channel.close());
    assert.deepEqual((await rec("ws")).events, ["open", "close"]);
  });

  test("by long polling (no WebSocket): channel.send messages arrive", async () => {
    const {token} = await rtmd.server("channel.create", {client_id: "page-poll", duration_minutes: 5});
    await page.evaluate(openChannel, ["poll", token, {polling: true}]);
    await page.waitForFunction(() => window.channels.poll.events.includes("open"));
    assert.equal((await rec("poll")).transport, "polling");
    await rtmd.server("channel.send", {client_id: "page-poll", message: "one"});
    await rtmd.server("channel.send", {client_id: "page-poll", message: "two"});
    assert.deepEqual(await waitMessages("poll", 2), ["one", "two"]);
    await page.evaluate(() => window.channels.poll.channel.close());
  });

  test("a bad token: onerror with 401, then onclose", async () => {
    await page.evaluate(openChannel, ["bad", "not.a.token", {}]);
    await page.waitForFunction(() => window.channels.bad.events.includes("close"));
    const {events, messages} = await rec("bad");
    assert.equal(events.length, 2, JSON.stringify(events));
    assert.match(events[0], /^error 401 InvalidToken$/);
    assert.equal(events[1], "close");
    assert.deepEqual(messages, []);
  });
});
