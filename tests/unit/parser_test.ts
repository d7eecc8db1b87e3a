import assert from "node:assert/strict";
import {
  createLineParser,
  FileSource,
  formatReading,
  LineSplitter,
  parseTime,
  type Reading,
  splitCsv,
} from "../../engine/mod.ts";

Deno.test("LineSplitter joins lines split across chunks at every position", () => {
  const text = "alpha\r\nbeta\n\ngamma\ndelta";
  for (let cut = 0; cut <= text.length; cut++) {
    const s = new LineSplitter();
    const lines = [...s.push(text.slice(0, cut)), ...s.push(text.slice(cut)), ...s.flush()];
    assert.deepEqual(lines, ["alpha", "beta", "", "gamma", "delta"], `cut at ${cut}`);
  }
});

Deno.test("FileSource reads a file of multi-byte machine ids whole, whatever falls on its pieces", async () => {
  // The source decodes each read in 32 KiB pieces: lines of varying length put two- and
  // three-byte characters and CRLFs across every kind of piece boundary.
  const names = ["presse-é", "機械", "m\u00e9ter", "plain"];
  const lines: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const machine = `${names[i % names.length]}${"é".repeat(i % 7)}${i % 13}`;
    lines.push(JSON.stringify({ timestamp: i * 1000, machine, x: i }));
  }
  const text = lines.join("\r\n") + "\r\n";
  const path = Deno.makeTempFileSync({ suffix: ".jsonl" });
  try {
    Deno.writeTextFileSync(path, text);
    assert.ok(new TextEncoder().encode(text).length > 4 * 32768, "spans several pieces");
    const parser = createLineParser("json");
    const expected = lines.map((l) => parser.parse(l));
    for (const chunkBytes of [1 << 20, 65536 + 3, 40000]) {
      const got: unknown[] = [];
      for await (const b of new FileSource(path, { format: "json", chunkBytes }).readable) {
        got.push(...b.readings);
        assert.deepEqual(b.errors, []);
      }
      assert.deepEqual(got, expected, `chunkBytes ${chunkBytes}`);
    }
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("LineSplitter bounds an overlong line and keeps positions", () => {
  const s = new LineSplitter({ maxLineLength: 8 });
  const out = [
    ...s.push("short\n0123456789"),
    ...s.push("abcdefghij".repeat(1000)), // a device that never sends a newline
    ...s.push("xyz\nnext\n"),
    ...s.flush(),
  ];
  assert.deepEqual(out, ["short", "012345678", "next"]);
});

Deno.test("LineSplitter: a line of the longest length whose \\r\\n is split across chunks is not too long", () => {
  // Whole in one chunk, and cut at every position: the `\r` ending one chunk, the `\n` the next.
  const text = "T:1,V:2,\r\nT:3,V:40\r\n";
  for (let at = 0; at <= text.length; at++) {
    const s = new LineSplitter({ maxLineLength: 8 });
    const out = [...s.push(text.slice(0, at)), ...s.push(text.slice(at)), ...s.flush()];
    assert.deepEqual(out, ["T:1,V:2,", "T:3,V:40"], `cut at ${at}`);
  }
});

Deno.test("parseTime reads ISO 8601, naive times as UTC, and epoch ms", () => {
  assert.equal(parseTime("2026-01-01T00:00:10.000Z"), Date.UTC(2026, 0, 1, 0, 0, 10));
  assert.equal(parseTime("2013-12-02 21:15:00"), Date.UTC(2013, 11, 2, 21, 15));
  assert.equal(parseTime("2026-01-01T01:00:00+01:00"), Date.UTC(2026, 0, 1));
  assert.equal(parseTime(1767225600000), 1767225600000);
  assert.equal(parseTime("1767225600000"), 1767225600000);
  assert.equal(parseTime("yesterday"), null);
  assert.equal(parseTime(null), null);
  assert.equal(parseTime("2026-01-01"), Date.UTC(2026, 0, 1));
});

Deno.test("parseTime refuses what Date.parse would guess: text that only contains a number or a Z", () => {
  // V8's Date.parse reads each of these as some date (2001-01-01 for the first).
  for (
    const v of ["not a time 1", "build 7", "Mon, 01 Jan 2026 00:00:00 GMT", "foo Z", "1/2/2026"]
  ) {
    assert.equal(parseTime(v), null, v);
  }
  const p = createLineParser("json");
  assert.match(
    String(p.parse('{"timestamp":"not a time 1","temperature":1}')),
    /timestamp/,
  );
});

Deno.test("JSONL parser: channels, defaults, and clear errors", () => {
  const p = createLineParser("json");
  assert.deepEqual(
    p.parse(
      '{"timestamp":"2026-01-01T00:00:00Z","temperature":25.5,"speed":1500,"status":"RUNNING"}',
    ),
    {
      timestamp: Date.UTC(2026, 0, 1),
      machine: "m1",
      status: "RUNNING",
      channels: { temperature: 25.5, speed: 1500 },
    },
  );
  const r = p.parse('{"timestamp":0,"machine":"m7","value":1,"injected":"spike","note":"x"}');
  assert.deepEqual(r, {
    timestamp: 0,
    machine: "m7",
    status: null,
    channels: { value: 1 },
    injected: "spike",
  });
  assert.equal(p.parse("   "), null);
  assert.match(p.parse("{oops") as string, /^invalid JSON/);
  assert.equal(p.parse("[1,2]"), "not a JSON object");
  assert.equal(p.parse('{"temperature":1}'), "missing timestamp");
  assert.equal(p.parse('{"timestamp":"soon","temperature":1}'), 'bad timestamp: "soon"');
  assert.equal(p.parse('{"timestamp":0,"temperature":1e999}'), "temperature is not finite");
  assert.equal(p.parse('{"timestamp":0,"label":"x"}'), "no numeric channel");
  assert.equal(p.parse('{"timestamp":0,"status":7,"t":1}'), "bad status: 7");
});

Deno.test("CSV parser sniffs ; and , and finds the time column", () => {
  const skab = createLineParser("csv");
  assert.equal(skab.parse("datetime;Accelerometer1RMS;Current;anomaly"), null);
  assert.deepEqual(skab.parse("2020-03-09 10:14:33;0.0266;1.67;0.0"), {
    timestamp: Date.UTC(2020, 2, 9, 10, 14, 33),
    machine: "m1",
    status: null,
    channels: { Accelerometer1RMS: 0.0266, Current: 1.67, anomaly: 0 },
  });
  const nab = createLineParser("csv");
  nab.parse("when,value");
  assert.deepEqual((nab.parse("2013-12-02 21:15:00,73.96") as Reading).channels, { value: 73.96 });
  const fleet = createLineParser("csv");
  fleet.parse("timestamp,machine,status,temperature,speed");
  const r = fleet.parse("2026-01-01T00:00:00Z,m2,PAUSED,21.5,") as Reading;
  assert.deepEqual([r.machine, r.status, r.channels], ["m2", "PAUSED", { temperature: 21.5 }]);
  assert.equal(fleet.parse("2026-01-01T00:00:00Z,m2"), "expected 5 columns, got 2");
  assert.equal(
    fleet.parse("2026-01-01T00:00:00Z,m2,RUNNING,hot,1"),
    'column temperature: "hot" is not a number',
  );
  assert.deepEqual(splitCsv('a,"b,c","d""e"', ","), ["a", "b,c", 'd"e']);
});

Deno.test("CSV: a text column is ignored (told once), a numeric column's bad cell stays an error", () => {
  const notes: string[] = [];
  const p = createLineParser("csv", { onNotice: (n) => notes.push(n) });
  p.parse("timestamp,temperature,label,note");
  // `note` is empty at first: undecided until its first value.
  const rows = [
    "2026-01-01T00:00:00Z,20,ok,",
    "2026-01-01T00:00:01Z,21,bad,5",
    "2026-01-01T00:00:02Z,22,42,6", // a number in a text column: still ignored
  ].map((l) => p.parse(l) as Reading);
  assert.deepEqual(rows.map((r) => r.channels), [
    { temperature: 20 },
    { temperature: 21, note: 5 },
    { temperature: 22, note: 6 },
  ]);
  assert.equal(p.parse("2026-01-01T00:00:03Z,23,ok,x"), 'column note: "x" is not a number');
  assert.equal(
    p.parse("2026-01-01T00:00:03Z,hot,ok,1"),
    'column temperature: "hot" is not a number',
  );
  assert.equal(
    p.parse("2026-01-01T00:00:04Z,NaN,ok,1"),
    'column temperature: "NaN" is not a number',
  );
  assert.deepEqual(notes, [
    'column "label" is not numeric (first value "ok"): ignored, as string columns of Parquet are',
  ]);
  // "NaN" or "inf" first is a bad number of a numeric column, not text.
  const q = createLineParser("csv", { onNotice: (n) => notes.push(n) });
  q.parse("timestamp,v");
  assert.equal(q.parse("0,inf"), 'column v: "inf" is not a number');
  assert.equal(notes.length, 1);
});

Deno.test("CSV without a time column: told once, the first column is the time, bad rows counted", () => {
  const notes: string[] = [];
  const p = createLineParser("csv", { onNotice: (n) => notes.push(n) });
  assert.equal(p.parse("when,value"), null);
  assert.equal((p.parse("2013-12-02 21:15:00,73.96") as Reading).channels.value, 73.96);
  assert.equal(p.parse("yesterday,1"), 'bad timestamp: "yesterday"');
  assert.equal(p.parse("later,2"), 'bad timestamp: "later"');
  assert.deepEqual(notes, [
    'no "timestamp" or "datetime" column: the first column, "when", is read as the time ' +
    "(a row whose cell there is not a time is a parser error)",
  ]);
});

Deno.test("CSV without a time column whose first column holds measurements: every row an error saying so", () => {
  const notes: string[] = [];
  const p = createLineParser("csv", { onNotice: (n) => notes.push(n) });
  assert.equal(p.parse("pressure,flow"), null);
  // Read as epoch ms, 3.2 was 1970-01-01T00:00:00.003Z and the pressure channel was gone.
  const error = 'no time column: name it "timestamp" or "datetime" (the first column, ' +
    '"pressure", holds "3.2", not an ISO 8601 time or epoch ms from 2000-01-01)';
  assert.equal(p.parse("3.2,10"), error);
  assert.equal(p.parse("1767225600000,10"), error);
  assert.deepEqual(notes, [`${error}: every row is a parser error`]);
  // Epoch ms of this century are times.
  const q = createLineParser("csv");
  q.parse("t,flow");
  assert.equal((q.parse("1767225600000,10") as Reading).timestamp, 1767225600000);
});

Deno.test("kv parser reads the serial wire format", () => {
  const p = createLineParser("kv", { now: () => 42 });
  assert.deepEqual(p.parse("T:85.5,V:5.0,S:WARNING_TEMP"), {
    timestamp: 42,
    machine: "m1",
    status: "WARNING_TEMP",
    channels: { temperature: 85.5, voltage: 5 },
  });
  assert.equal((p.parse("M:pump-3,T:20\r") as Reading).machine, "pump-3");
  assert.equal(p.parse("T:abc"), 'T: "abc" is not a number');
  assert.equal(p.parse("T:NaN"), 'T: "NaN" is not a number');
  assert.equal(p.parse("X:1"), 'unknown key "X"');
  assert.equal(p.parse("garbage"), 'expected KEY:VALUE, got "garbage"');
  assert.equal(
    createLineParser("kv", { maxLineLength: 4 }).parse("T:1.25"),
    "line longer than 4 characters",
  );
});

Deno.test("kv in the device profile: a line lacking T, V or S is an error naming them", () => {
  const p = createLineParser("kv", { now: () => 42, deviceKeys: true });
  assert.equal(
    p.parse("T:2"),
    "missing V and S: a line of the device profile carries T, V and S (S:OFFLINE alone)",
  );
  assert.match(p.parse("T:2,S:NORMAL") as string, /^missing V:/);
  assert.match(p.parse("V:5.0,S:NORMAL,M:pump-3") as string, /^missing T:/);
  assert.match(p.parse("T:45.2,V:5.01") as string, /^missing S:/);
  assert.equal((p.parse("T:45.2,V:5.01,S:NORMAL") as Reading).status, "NORMAL");
  // A device that reports itself offline sends no values.
  assert.deepEqual((p.parse("S:OFFLINE") as Reading).channels, {});
  // raw.log lines carry kv lines: the same rule.
  const raw = createLineParser("raw", { deviceKeys: true });
  assert.match(raw.parse('2026-01-01T00:00:00.000Z "T:2"') as string, /^missing V and S:/);
  // Other profiles read what a line has.
  assert.deepEqual((createLineParser("kv", { now: () => 42 }).parse("T:2") as Reading).channels, {
    temperature: 2,
  });
});

Deno.test("machine ids: empty, a control character, too long or padded is an error naming it", () => {
  const json = createLineParser("json");
  const at = '"timestamp":"2026-01-01T00:00:00Z","temperature":1';
  assert.equal(json.parse(`{${at},"machine":""}`), 'bad machine id "": empty');
  assert.equal(
    json.parse(`{${at},"machine":"a\\nb"}`),
    'bad machine id "a\\nb": holds a control character',
  );
  assert.equal(
    json.parse(`{${at},"machine":" m1"}`),
    'bad machine id " m1": white space at its start or end',
  );
  assert.match(
    json.parse(`{${at},"machine":"${"x".repeat(129)}"}`) as string,
    /: longer than 128 characters \(129\)$/,
  );
  assert.equal(
    (json.parse(`{${at},"machine":"${"x".repeat(128)}"}`) as Reading).machine.length,
    128,
  );
  assert.equal((json.parse(`{${at},"machine":"Pumpe Süd/7"}`) as Reading).machine, "Pumpe Süd/7");
  assert.equal((json.parse(`{${at},"machine":7}`) as Reading).machine, "7");
  const kv = createLineParser("kv", { now: () => 0 });
  assert.equal(kv.parse("T:1,M:a\u0007b"), 'bad machine id "a\\u0007b": holds a control character');
  const csv = createLineParser("csv");
  csv.parse("timestamp,machine,temperature");
  assert.equal(
    csv.parse("2026-01-01T00:00:00Z,a\u0000b,1"),
    'bad machine id "a\\u0000b": holds a control character',
  );
  // An empty cell is no machine, as a JSON line without the field.
  assert.equal((csv.parse("2026-01-01T00:00:00Z,,1") as Reading).machine, "m1");
});

Deno.test("status words: a word in capitals; any other form is an error naming it", () => {
  const json = createLineParser("json");
  const at = '"timestamp":"2026-01-01T00:00:00Z","temperature":1';
  for (const ok of ["RUNNING", "PAUSED", "NORMAL", "CRITICAL_VOLTAGE", "IDLE", "A".repeat(32)]) {
    assert.equal((json.parse(`{${at},"status":"${ok}"}`) as Reading).status, ok);
  }
  const form = "a status is a word of capitals, digits and _ starting with a capital, " +
    "at most 32 characters (RUNNING, PAUSED, WARNING_TEMP)";
  assert.equal(json.parse(`{${at},"status":"running"}`), `bad status "running": ${form}`);
  assert.equal(json.parse(`{${at},"status":"RUNNING "}`), `bad status "RUNNING ": ${form}`);
  assert.equal(json.parse(`{${at},"status":""}`), `bad status "": ${form}`);
  assert.equal(json.parse(`{${at},"status":"WARN-1"}`), `bad status "WARN-1": ${form}`);
  const kv = createLineParser("kv", { now: () => 0 });
  const long = "A".repeat(33);
  assert.equal(kv.parse(`T:1,S:${long}`), `bad status "${long}": ${form}`);
  const csv = createLineParser("csv");
  csv.parse("timestamp,status,temperature");
  assert.equal(csv.parse("2026-01-01T00:00:00Z,ok,1"), `bad status "ok": ${form}`);
  assert.equal((csv.parse("2026-01-01T00:00:00Z,,1") as Reading).status, null);
});

Deno.test("formatReading is the normalised JSONL line and round-trips", () => {
  const r: Reading = {
    timestamp: Date.UTC(2026, 0, 1, 0, 0, 10),
    machine: 'odd "name"',
    status: "RUNNING",
    channels: { temperature: 25.7, speed: 1500 },
    injected: "spike",
  };
  const line = formatReading(r);
  assert.equal(
    line,
    '{"timestamp":"2026-01-01T00:00:10.000Z","machine":"odd \\"name\\"","status":"RUNNING",' +
      '"temperature":25.7,"speed":1500,"injected":"spike"}',
  );
  assert.deepEqual(createLineParser("json").parse(line), r);
});
