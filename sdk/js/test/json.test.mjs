// 64-bit integers survive the JSON round trip (mids do not fit a JavaScript number).

import assert from "node:assert/strict";
import {test} from "node:test";

import {parseJSON, stringifyJSON} from "../rtm.js";

test("parseJSON keeps unsafe integers exact as BigInt, everything else as JSON.parse", () => {
  const text = '{"mid":383317156219060224,"neg":-9007199254740993,"safe":9007199254740991,' +
    '"f":1.5e300,"s":"12345678901234567890 \\" 98765432109876543210","a":[1,2.5,true,null]}';
  const v = parseJSON(text);
  assert.equal(v.mid, 383317156219060224n);
  assert.equal(v.neg, -9007199254740993n);
  assert.equal(v.safe, 9007199254740991);
  assert.equal(v.f, 1.5e300);
  assert.equal(v.s, '12345678901234567890 " 98765432109876543210');
  assert.deepEqual(v.a, [1, 2.5, true, null]);
  assert.deepEqual(parseJSON('{"x":1}'), {x: 1});
  assert.throws(() => parseJSON("{oops 12345678901234567890"), SyntaxError);
});

test("stringifyJSON writes BigInt as a JSON integer", () => {
  assert.equal(stringifyJSON({mid: 383317156219060224n, to: 2, msg: "x"}),
               '{"mid":383317156219060224,"to":2,"msg":"x"}');
  assert.equal(stringifyJSON({a: "b"}), '{"a":"b"}');
  const round = parseJSON(stringifyJSON({m: 9223372036854775807n}));
  assert.equal(round.m, 9223372036854775807n);
});
