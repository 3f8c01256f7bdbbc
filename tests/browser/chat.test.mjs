// The demo page (web/) as rtmd serves it, driven in headless Chromium: log in, chat both
// ways live, rooms, long polling, history, a reload that keeps the session, the screenshot.

import assert from "node:assert/strict";
import {mkdirSync} from "node:fs";
import path from "node:path";
import {after, before, describe, test} from "node:test";

import {
  REPO, Rtmd, addContact, joinRoom, launchChromium, login, missing, openDemo, say, shownTexts, waitForText,
} from "./harness.mjs";

const why = missing();

describe("demo page", {skip: why || false}, () => {
  let rtmd;
  let browser;
  let alice;
  let bob;
  const pages = [];

  async function page(opts = {}) {
    const p = await openDemo(browser, opts.server || rtmd, opts);
    pages.push(p);
    return p;
  }

  before(async () => {
    rtmd = await new Rtmd().start();
    browser = await launchChromium();
    alice = await rtmd.addUser("alice");
    bob = await rtmd.addUser("bob");
  });

  after(async () => {
    for (const p of pages) {
      // the browser itself logs the connections refused while a test keeps it offline
      const problems = p.problems.filter((m) => !(p.offlineTest && /net::ERR_INTERNET_DISCONNECTED/.test(m)));
      assert.deepEqual(problems, [], "no errors in the page's console");
    }
    if (browser) await browser.close();
    if (rtmd) await rtmd.cleanup();
  });

  test("rtmd serves the page, its files and the SDK", async () => {
    for (const [p, type] of [["/", "text/html"], ["/app.js", "text/javascript"], ["/style.css", "text/css"],
                             ["/sdk/rtm.js", "text/javascript"]]) {
      const res = await fetch(rtmd.url + p);
      assert.equal(res.status, 200, p);
      assert.ok(res.headers.get("content-type").startsWith(type), `${p}: ${res.headers.get("content-type")}`);
    }
  });

  test("the login screen explains how users are made and refuses a wrong password", async () => {
    const p = await page();
    assert.equal(await p.isVisible("#login-view"), true);
    assert.equal(await p.isVisible("#chat-view"), false);
    await p.click("#user-hint summary");
    const hint = await p.textContent("#user-hint");
    assert.match(hint, /rtm user add/);
    assert.match(hint, /\/v1\/server\/user\.add/);
    assert.ok(hint.includes(rtmd.url), "the curl line names this server");
    await p.fill("#login", alice.login);
    await p.fill("#password", "not-the-password");
    await p.click("#login-button");
    await p.waitForSelector("#login-error:not([hidden])");
    assert.match(await p.textContent("#login-error"), /Wrong login or password/);
    assert.equal(await p.isVisible("#chat-view"), false);
  });

  test("two users chat both ways, each message appears live on the other side", async () => {
    const a = await page();
    const b = await page();
    await login(a, alice);
    await login(b, bob);
    for (const p of [a, b]) {
      await p.waitForSelector('#conn-state[data-state="websocket"]');
    }
    await addContact(a, bob.uid, "Bob");
    await addContact(b, alice.uid, "Alice");
    assert.equal(await a.textContent("#conv-title"), "Bob");
    // presence: each sees the other online (user.online, then presence events)
    await a.waitForSelector(`#contacts [data-uid="${bob.uid}"][data-online="true"]`);
    await b.waitForSelector(`#contacts [data-uid="${alice.uid}"][data-online="true"]`);

    await say(a, "Hi Bob! Are you there?");
    await waitForText(b, "Hi Bob! Are you there?");
    await say(b, "Hi Alice, yes, reading you live.");
    await waitForText(a, "Hi Alice, yes, reading you live.");
    await say(a, "Multi-line\nworks too");
    await waitForText(b, "Multi-line\nworks too");

    const order = ["Hi Bob! Are you there?", "Hi Alice, yes, reading you live.", "Multi-line\nworks too"];
    assert.deepEqual(await shownTexts(a), order);
    assert.deepEqual(await shownTexts(b), order);
    // sides and timestamps
    const mine = await a.$$eval("#messages [data-testid=message]", (ns) => ns.map((n) => n.dataset.mine));
    assert.deepEqual(mine, ["true", "false", "true"]);
    const times = await a.$$eval("#messages [data-testid=message-time]", (ns) => ns.map((n) => n.getAttribute("datetime")));
    for (const t of times) assert.ok(Math.abs(Date.parse(t) - Date.now()) < 120000, t);
    // every message carries its server mid, the same on both sides
    const midsA = await a.$$eval("#messages [data-testid=message]", (ns) => ns.map((n) => n.dataset.mid));
    const midsB = await b.$$eval("#messages [data-testid=message]", (ns) => ns.map((n) => n.dataset.mid));
    assert.deepEqual(midsA, midsB);
    for (const m of midsA) assert.match(m, /^[1-9][0-9]+$/);

    // another device of bob (mode multi) opens the conversation: history has all of it
    const b2 = await page();
    await login(b2, bob);
    await addContact(b2, alice.uid, "Alice");
    await b2.waitForSelector("#conversation[data-loaded=true]");
    assert.deepEqual(await shownTexts(b2), order);
    // a message from someone not in the contacts adds them, with an unread count
    const carol = await rtmd.addUser("carol");
    await rtmd.server("message.send", {from: carol.uid, to: bob.uid, mtype: 30, msg: "bob, it's carol"});
    await b2.waitForSelector(`#contacts [data-uid="${carol.uid}"] [data-testid=unread]`);
    assert.equal(await b2.textContent(`#contacts [data-uid="${carol.uid}"] [data-testid=unread]`), "1");
    await b2.click(`#contacts [data-uid="${carol.uid}"] button`);
    await waitForText(b2, "bob, it's carol");
    assert.equal(await b2.$(`#contacts [data-uid="${carol.uid}"] [data-testid=unread]`), null);
  });

  test("a room: join by id, chat both ways, join notices", async () => {
    const a = await page();
    const b = await page();
    await login(a, alice);
    await login(b, bob);
    await joinRoom(a, 42);
    await joinRoom(b, 42);
    await a.waitForFunction(() => [...document.querySelectorAll("#messages [data-testid=system-line]")]
      .some((n) => /joined the room/.test(n.textContent)));
    await say(a, "Welcome to room 42");
    await waitForText(b, "Welcome to room 42");
    await say(b, "Thanks! Glad to be here.");
    await waitForText(a, "Thanks! Glad to be here.");
    assert.equal(await a.textContent("#conv-title"), "Room 42");
    // the sender's name is shown above another member's message
    const from = await a.$$eval("#messages .msg.theirs .msg-from", (ns) => ns.map((n) => n.textContent));
    assert.ok(from.length >= 1, "a sender label");
    // a server send_room reaches both
    await rtmd.server("message.send_room", {from: 0, rid: 42, mtype: 30, msg: "Announcement from the backend"});
    await waitForText(a, "Announcement from the backend");
    await waitForText(b, "Announcement from the backend");
    // room history for a page that opens it afresh
    const a2 = await page();
    await login(a2, alice);
    await joinRoom(a2, 42);
    await waitForText(a2, "Thanks! Glad to be here.");
    const texts = await shownTexts(a2);
    assert.deepEqual(texts.slice(-3), ["Welcome to room 42", "Thanks! Glad to be here.", "Announcement from the backend"]);
    // leaving the room
    await b.click("#leave-room");
    await b.waitForSelector('#rooms [data-rid="42"]', {state: "detached"});
    await a.waitForFunction(() => [...document.querySelectorAll("#messages [data-testid=system-line]")]
      .some((n) => /left the room/.test(n.textContent)));
  });

  test("long polling (?transport=polling) chats live with a WebSocket page and says so", async () => {
    const a = await page({query: "?transport=polling"});
    const b = await page();
    await login(a, alice);
    await login(b, bob);
    await a.waitForSelector('#conn-state[data-state="polling"]');
    await b.waitForSelector('#conn-state[data-state="websocket"]');
    assert.match(await a.textContent("#conn-state"), /long polling/i);
    await addContact(a, bob.uid, "Bob");
    await addContact(b, alice.uid, "Alice");
    await say(b, "over the socket to a poller");
    await waitForText(a, "over the socket to a poller");
    await say(a, "and back by long polling");
    await waitForText(b, "and back by long polling");
  });

  test("a reload continues the same session and shows the conversation again", async () => {
    const a = await page();
    await login(a, alice);
    await addContact(a, bob.uid, "Bob");
    await say(a, "before the reload");
    const uid = await a.textContent("#me-uid");
    await a.reload();
    await a.waitForSelector("body[data-ready=true]");
    await a.waitForSelector("#chat-view:not([hidden])");
    assert.equal(await a.textContent("#me-uid"), uid);
    await a.waitForSelector(`#conversation[data-key="u:${bob.uid}"]`);
    await waitForText(a, "before the reload");
    // messages sent while the page reloads arrive too
    await rtmd.server("message.send", {from: bob.uid, to: alice.uid, mtype: 30, msg: "after the reload"});
    await waitForText(a, "after the reload");
    // sign out: back to the login screen, the session is over
    await a.click("#logout");
    await a.waitForSelector("#login-view:not([hidden])");
    await a.reload();
    await a.waitForSelector("body[data-ready=true]");
    assert.equal(await a.isVisible("#login-view"), true);
  });

  test("a reconnect is shown and the page resumes without losing messages", async () => {
    const a = await page();
    a.offlineTest = true;
    await login(a, alice);
    await addContact(a, bob.uid, "Bob");
    await a.waitForSelector('#conn-state[data-state="websocket"]');
    await a.evaluate(() => {
      window.connStates = [];
      new MutationObserver(() => window.connStates.push(document.querySelector("#conn-state").dataset.state))
        .observe(document.querySelector("#conn-state"), {attributes: true, attributeFilter: ["data-state"]});
    });
    // cut every connection of the page (offline), send meanwhile, then come back
    await a.context().setOffline(true);
    await a.evaluate(() => { for (const ws of window.rtmDemo.conn.sockets) ws.close(); });
    await a.waitForSelector('#conn-state[data-state="reconnecting"]');
    assert.match(await a.textContent("#conn-state"), /Reconnecting/);
    await rtmd.server("message.send", {from: bob.uid, to: alice.uid, mtype: 30, msg: "sent while you were away"});
    await a.waitForTimeout(500);
    await a.context().setOffline(false);
    await waitForText(a, "sent while you were away", 20000);
    await a.waitForSelector('#conn-state[data-state="websocket"]', {timeout: 20000});
    const states = await a.evaluate(() => window.connStates);
    assert.equal(states[0], "reconnecting", JSON.stringify(states));
    assert.equal(states.at(-1), "websocket", JSON.stringify(states));
    assert.equal((await shownTexts(a)).filter((t) => t === "sent while you were away").length, 1);
  });

  test("a narrow screen shows the list or the conversation, with a way back", async () => {
    const a = await page({viewport: {width: 390, height: 760}});
    await login(a, alice);
    assert.equal(await a.isVisible("#sidebar"), true);
    await addContact(a, bob.uid, "Bob");
    assert.equal(await a.isVisible("#sidebar"), false);
    assert.equal(await a.isVisible("#composer-input"), true);
    await say(a, "from a phone");
    await a.click("#back");
    await a.waitForSelector("#sidebar", {state: "visible"});
    assert.equal(await a.isVisible("#composer-input"), false);
  });

  test("screenshot of two users mid-conversation (docs/demo.png)", async (t) => {
    // a server of its own, so that the picture shows only this conversation
    const fresh = await new Rtmd().start();
    t.after(async () => {
      for (const p of [a, b]) {
        assert.deepEqual(p.problems, [], "no errors in the page's console");
        pages.splice(pages.indexOf(p), 1);
        await p.context().close();
      }
      await fresh.cleanup();
    });
    const alice = await fresh.addUser("alice");
    const bob = await fresh.addUser("bob");
    const a = await page({server: fresh});
    const b = await page({server: fresh});
    await login(a, alice);
    await login(b, bob);
    await addContact(a, bob.uid, "Bob");
    await addContact(b, alice.uid, "Alice");
    const lines = [
      [a, "Morning Bob! Did the deploy go out?"],
      [b, "It did, 10 minutes ago. rtmd restarted with zero dropped sessions."],
      [a, "Nice. The pages resumed over the WebSocket by themselves?"],
      [b, "Yes: they reconnected and attached with `after`, nothing missed."],
      [a, "Perfect, let's tell the team in room 7."],
    ];
    for (const [p, text] of lines) {
      await say(p, text);
      await waitForText(p === a ? b : a, text);
    }
    await joinRoom(b, 7);
    await joinRoom(a, 7);
    await say(a, "Deploy is done, thanks everyone!");
    await waitForText(b, "Deploy is done, thanks everyone!");
    await a.click(`#contacts [data-uid="${bob.uid}"] button`);
    await a.waitForSelector(`#conversation[data-key="u:${bob.uid}"]`);
    await say(b, "Great work!");
    await a.waitForSelector('#rooms [data-rid="7"] [data-testid=unread]');
    await b.click(`#contacts [data-uid="${alice.uid}"] button`);
    await b.waitForSelector(`#conversation[data-key="u:${alice.uid}"]`);
    await say(b, "Writing the release notes now.");
    await waitForText(a, "Writing the release notes now.");
    await a.fill("#composer-input", "Thanks!");
    await a.waitForTimeout(300);
    const out = process.env.RTM_UPDATE_SCREENSHOT === "1"
      ? path.join(REPO, "docs", "demo.png")
      : path.join(fresh.tmp, "demo.png");
    mkdirSync(path.dirname(out), {recursive: true});
    const png = await a.screenshot({path: out});
    // a 1280x800 PNG
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
    assert.equal(png.readUInt32BE(16), 1280);
    assert.equal(png.readUInt32BE(20), 800);
  });
});
