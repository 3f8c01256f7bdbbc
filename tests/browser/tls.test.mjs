// The demo page served over HTTPS (rtmd --tls-cert with the test's self-made certificate,
// which the browser context is told to accept): the page opens at https://, and its SDK
// talks to rtmd over wss:// — two users chat live, with no console errors (a mixed-content
// ws:// would be blocked and show as one).

import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";

import {
  Rtmd, addContact, launchChromium, login, missing, openDemo, say, testCertificate, waitForText,
} from "./harness.mjs";

const cert = testCertificate();
const why = missing() || (!cert && "no test certificate (run through run-tests.sh)");

describe("demo page over https", {skip: why || false}, () => {
  let rtmd;
  let browser;
  const pages = [];

  before(async () => {
    rtmd = await new Rtmd([], {tls: cert}).start();
    browser = await launchChromium();
  });

  after(async () => {
    for (const p of pages) assert.deepEqual(p.problems, [], "no errors in the page's console");
    if (browser) await browser.close();
    if (rtmd) await rtmd.cleanup();
  });

  test("two users chat both ways over wss", async () => {
    assert.match(rtmd.url, /^https:\/\//);
    const alice = await rtmd.addUser("alice");
    const bob = await rtmd.addUser("bob");
    const sockets = [];
    const a = await openDemo(browser, rtmd, {context: {ignoreHTTPSErrors: true}});
    const b = await openDemo(browser, rtmd, {context: {ignoreHTTPSErrors: true}});
    pages.push(a, b);
    for (const p of [a, b]) p.on("websocket", (ws) => sockets.push(ws.url()));
    await login(a, alice);
    await login(b, bob);
    for (const p of [a, b]) await p.waitForSelector('#conn-state[data-state="websocket"]');
    assert.ok(sockets.length >= 2 && sockets.every((u) => u.startsWith("wss://")), JSON.stringify(sockets));
    await addContact(a, bob.uid, "Bob");
    await addContact(b, alice.uid, "Alice");
    await say(a, "Hello over TLS");
    await waitForText(b, "Hello over TLS");
    await say(b, "Encrypted both ways");
    await waitForText(a, "Encrypted both ways");
  });
});
