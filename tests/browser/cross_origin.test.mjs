// The browser SDK on a page of another origin (the application's own site) talking to rtmd:
// the SDK module is imported from rtmd, and every call and long poll is a cross-origin
// fetch. With --cors-origins naming the page's origin this works in a real browser; without
// it the browser refuses (docs/semantics.md "Browsers on another origin").

import assert from "node:assert/strict";
import http from "node:http";
import {after, before, describe, test} from "node:test";

import {Rtmd, freePort, launchChromium, missing} from "./harness.mjs";

const why = missing();

// The application's site: one empty page.
async function startSite() {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    res.writeHead(200, {"Content-Type": "text/html; charset=utf-8"});
    res.end("<!doctype html><title>the application</title><p>app</p>");
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {server, origin: `http://127.0.0.1:${port}`};
}

// Runs in the page: a Session over long polling (fetch) to rtmd, logged in by a user token;
// records the messages it gets in window.got.
function startSession([rtmdUrl, token]) {
  return import(`${rtmdUrl}/sdk/rtm.js`).then(async ({Session}) => {
    window.got = [];
    const s = new Session({url: rtmdUrl, transport: "polling", pollTimeout: 5});
    s.onmessage = (m) => window.got.push(m.msg);
    await s.create();
    const {uid} = await s.authorize({token});
    window.rtmSession = s;
    return uid;
  });
}

describe("the SDK on a page of another origin", {skip: why || false}, () => {
  let site;
  let browser;

  before(async () => {
    site = await startSite();
    browser = await launchChromium();
  });

  after(async () => {
    if (browser) await browser.close();
    if (site) site.server.close();
  });

  async function pageOfTheSite() {
    const page = await browser.newPage();
    await page.goto(`${site.origin}/`);
    return page;
  }

  test("with the site's origin allowed: log in, long-poll and receive a message", async () => {
    const rtmd = await new Rtmd(["--cors-origins", site.origin]).start();
    try {
      const {uid} = await rtmd.addUser();
      const {token} = await rtmd.server("user.token", {uid, ttl: 300});
      const page = await pageOfTheSite();
      assert.equal(await page.evaluate(startSession, [rtmd.apiUrl, token]), uid);
      await rtmd.server("message.send", {to: uid, mtype: 30, msg: "across origins"});
      await page.waitForFunction(() => window.got.length >= 1);
      assert.deepEqual(await page.evaluate(() => window.got), ["across origins"]);
      await page.close();
    } finally {
      await rtmd.cleanup();
    }
  });

  test("without it the browser refuses to hand rtmd's answers to the page", async () => {
    const rtmd = await new Rtmd().start();
    try {
      const page = await pageOfTheSite();
      const outcome = await page.evaluate(async (url) => {
        try {
          await fetch(`${url}/v1/session.create`, {
            method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
          return "answered";
        } catch (e) {
          return `refused: ${e.name}`;
        }
      }, rtmd.apiUrl);
      assert.equal(outcome, "refused: TypeError");
      await page.close();
    } finally {
      await rtmd.cleanup();
    }
  });
});
