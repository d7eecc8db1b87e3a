/**
 * The MQTT delivery journal's compaction (`ack_journal.ts`), on a real file: what a restart finds
 * after messages were written, committed and acknowledged but their PUBACKs never read by the
 * broker. Seen under load (tests/integration/mqtt_test.ts, `kill -9` five times): mosquitto 2.0
 * read one PUBACK per turn of its loop, so thousands of the engine's sat unread when it was
 * killed; the journal, which kept only the last `keep` acknowledged records, had compacted theirs
 * away, and the next run logged those messages a second time.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DeliveryJournal, latestPerId } from "../../engine/sources/mqtt/ack_journal.ts";
import { prng } from "../helpers.ts";

/** Ids (every 4th number) of the records, oldest first. */
function ids(records: readonly number[]): number[] {
  return records.filter((_, i) => i % 4 === 0);
}

Deno.test("delivery journal: a committed message's record outlives any number of later ones until its packet id is reused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-journal-" });
  try {
    const path = join(dir, "mqtt_deliveries.jsonl");
    // keep 2: compacted past 8 records, then past twice what it kept.
    const journal = await DeliveryJournal.open(path, 2);
    // 100 messages, packet ids 1…100, one reading each on lines 0…99, appended one batch each
    // (many compactions). All of them committed: the source has written their PUBACKs; the
    // broker has read none (nothing tells the source which it read).
    for (let id = 1; id <= 100; id++) await journal.append([id, 1000 + id, id - 1, 1]);
    journal.close();
    // The crash: the next run reads the journal, and must know every one of the 100 messages
    // the broker delivers again.
    const reopened = await DeliveryJournal.open(path, 2);
    assert.deepEqual(ids(reopened.records), Array.from({ length: 100 }, (_, i) => i + 1));
    // Packet ids 1…60 come again, three times, with other messages: the broker read the PUBACKs
    // of the earlier ones (it reuses an id only then), so their records go when it compacts.
    for (let round = 0; round < 3; round++) {
      for (let id = 1; id <= 60; id++) {
        await reopened.append([id, 2000 + 100 * round + id, 100 + 60 * round + id - 1, 1]);
      }
    }
    reopened.close();
    const after = await DeliveryJournal.open(path, 2);
    const records = after.records;
    after.close();
    assert.ok(records.length / 4 < 280, `compacted: ${records.length / 4} records`);
    const hashes = new Map<number, number[]>();
    for (let i = 0; i < records.length; i += 4) {
      hashes.set(records[i]!, [...hashes.get(records[i]!) ?? [], records[i + 1]!]);
    }
    for (let id = 1; id <= 100; id++) {
      const h = hashes.get(id) ?? [];
      if (id > 60) assert.deepEqual(h, [1000 + id], `packet id ${id}`);
      else {
        assert.ok(!h.includes(1000 + id), `packet id ${id}: its first message's record kept`);
        assert.equal(h.at(-1), 2200 + id, `packet id ${id}: its latest message`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery journal: latestPerId keeps each id's latest message, with the records of its earlier parts", () => {
  // Id 3: a message of 5 readings (hash 9) written partly before a restart, its last 2 read
  // again after (a second record, same hash, fewer lines): both kept, they are one message.
  assert.deepEqual(latestPerId([3, 9, 0, 5, 4, 8, 5, 1, 3, 9, 6, 2]), [
    3,
    9,
    0,
    5,
    4,
    8,
    5,
    1,
    3,
    9,
    6,
    2,
  ]);
  // Then the same payload again under id 3 (a new message: as many lines as the first): the
  // earlier message's records go, and do not pile up however often the payload repeats.
  assert.deepEqual(latestPerId([3, 9, 0, 5, 3, 9, 6, 2, 3, 9, 8, 5, 3, 9, 13, 5]), [3, 9, 13, 5]);
  // Id 3's rest journaled on lines 10…11, cut by a restart before it was written, and read again
  // on lines 20…21: the second read of the rest replaces the first, the first part stays.
  assert.deepEqual(latestPerId([3, 9, 0, 5, 3, 9, 10, 2, 3, 9, 20, 2]), [3, 9, 0, 5, 3, 9, 20, 2]);
  // A message with another hash under the id ends the id's older records.
  assert.deepEqual(latestPerId([1, 5, 0, 1, 2, 6, 1, 1, 1, 7, 2, 1]), [2, 6, 1, 1, 1, 7, 2, 1]);
  assert.deepEqual(latestPerId([]), []);
});

Deno.test("delivery journal: a compaction that keeps more than one line's worth reads back whole and in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-journal-" });
  try {
    const path = join(dir, "mqtt_deliveries.jsonl");
    const journal = await DeliveryJournal.open(path, 2);
    // 10,000 messages (ids 1…10,000, none reused) in batches of 100: the last compaction keeps
    // thousands (written 4,096 records a line).
    const all: number[] = [];
    for (let b = 0; b < 100; b++) {
      const batch: number[] = [];
      for (let id = 100 * b + 1; id <= 100 * b + 100; id++) batch.push(id, id * 7919, id - 1, 1);
      all.push(...batch);
      await journal.append(batch);
    }
    journal.close();
    // The last compaction kept 6,300 records: lines of 4,096 and 2,204, then the appends.
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.deepEqual([0, 1].map((i) => JSON.parse(lines[i]!).length / 4), [4096, 2204]);
    const reopened = await DeliveryJournal.open(path, 2);
    assertSameRecords(reopened.records, all, "reopened");
    reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery journal: restarts that each append less than they read do not grow it without bound", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-journal-" });
  try {
    const path = join(dir, "mqtt_deliveries.jsonl");
    // 30 runs, each killed after 10 messages, packet ids cycling over 1…20: a compaction keeps at
    // most 20 records. The limit was twice what a start read, so from the second run on no run
    // reached it and the file grew by 10 records a run (310 at the end).
    let next = 0;
    for (let run = 0; run < 30; run++) {
      const journal = await DeliveryJournal.open(path, 2);
      for (let k = 0; k < 10; k++, next++) {
        await journal.append([1 + (next % 20), 5000 + next, next, 1]);
      }
      journal.close();
    }
    const last = await DeliveryJournal.open(path, 2);
    const records = last.records;
    last.close();
    assert.ok(records.length / 4 <= 2 * 20 + 10, `${records.length / 4} records`);
    // And it still holds every packet id's latest message.
    assert.deepEqual(
      ids(latestPerId(records)).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Each packet id's latest message, as the rule in `ack_journal.ts` states it, written apart (a map
 * per id, walking back): what a compaction must keep.
 */
function latestMessages(records: readonly number[]): number[] {
  const kept = new Array<boolean>(records.length / 4).fill(false);
  const ids = new Map<number, { closed: boolean; hash: number; lines: number }>();
  for (let k = records.length / 4 - 1; k >= 0; k--) {
    const id = records[4 * k]!, hash = records[4 * k + 1]!, lines = records[4 * k + 3]!;
    const last = ids.get(id);
    if (last === undefined) ids.set(id, { closed: false, hash, lines });
    else if (last.closed || (last.hash === hash && last.lines === lines)) continue;
    else if (last.hash === hash && lines > last.lines) last.lines = lines;
    else {
      last.closed = true;
      continue;
    }
    kept[k] = true;
  }
  return records.filter((_, i) => kept[i >> 2]);
}

/**
 * Asserts two long record lists equal, naming the first record that differs (node's diff of two
 * arrays of 260,000 numbers takes minutes).
 */
function assertSameRecords(actual: readonly number[], expected: readonly number[], what: string) {
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  if (i === n && actual.length === expected.length) return;
  const k = i >> 2;
  assert.fail(
    `${what}: ${actual.length / 4} records, expected ${expected.length / 4}; record ${k} is ` +
      `${JSON.stringify(actual.slice(4 * k, 4 * k + 4))}, expected ` +
      JSON.stringify(expected.slice(4 * k, 4 * k + 4)),
  );
}

/** Records as the file holds them, oldest first. */
async function fileRecords(path: string): Promise<number[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l !== "").flatMap((l) => JSON.parse(l) as number[]);
}

Deno.test("delivery journal: compacted in place, the file and a reopened journal hold exactly each packet id's latest message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-journal-" });
  try {
    const path = join(dir, "mqtt_deliveries.jsonl");
    const random = prng(14);
    // 40 packet ids, 4 payloads: ids reused with another message or the same payload again, and
    // messages read in parts over restarts (a later record, same hash, fewer lines).
    const all: number[] = [];
    let journal = await DeliveryJournal.open(path, 2);
    let line = 0, compactions = 0;
    for (let append = 0; append < 3000; append++) {
      const batch: number[] = [];
      for (let r = 1 + Math.floor(random() * 5); r > 0; r--) {
        const id = 1 + Math.floor(random() * 40), hash = 1 + Math.floor(random() * 4);
        const lines = Math.floor(random() * 4);
        batch.push(id, hash, line, lines);
        if (lines > 1 && random() < 0.3) batch.push(id, hash, line + 1, lines - 1);
        line += lines;
      }
      all.push(...batch);
      const held = (await fileRecords(path)).length;
      await journal.append(batch);
      const now = await fileRecords(path);
      if (now.length !== held + batch.length) {
        // Compacted: exactly the latest messages of everything appended so far, in order.
        compactions++;
        assert.deepEqual(now, latestMessages(all), `after append ${append}`);
      }
      if (append % 500 === 499) {
        journal.close();
        journal = await DeliveryJournal.open(path, 2);
        assert.deepEqual(journal.records, now, `reopened after append ${append}`);
      }
    }
    journal.close();
    assert.ok(compactions > 10, `${compactions} compactions`);
    assert.deepEqual(latestPerId(await fileRecords(path)), latestMessages(all));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery journal: compacting what is held before an append keeps what compacting both would", () => {
  // What lets an append with no room left compact first, then append and compact again.
  const random = prng(7);
  for (let round = 0; round < 300; round++) {
    const records = (n: number) =>
      Array.from({ length: n }, () => [
        1 + Math.floor(random() * 6),
        1 + Math.floor(random() * 3),
        Math.floor(random() * 100),
        Math.floor(random() * 4),
      ]).flat();
    const held = records(Math.floor(random() * 30)), added = records(Math.floor(random() * 10));
    const whole = latestPerId([...held, ...added]);
    assert.deepEqual(whole, latestMessages([...held, ...added]), `round ${round}`);
    assert.deepEqual(latestPerId([...latestPerId(held), ...added]), whole, `round ${round}`);
  }
});

Deno.test("delivery journal: at its bound (every packet id taken twice) it compacts, with no room left, to each id's latest message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-journal-" });
  try {
    const path = join(dir, "mqtt_deliveries.jsonl");
    const journal = await DeliveryJournal.open(path, 1000);
    // 200,000 messages in batches of 1,000, packet ids cycling over 1…65,535: the journal fills
    // its 131,070 records and the next append finds no room (compacted first, then again).
    const all: number[] = [];
    let size = 0, compactions = 0;
    for (let m = 0; m < 200_000; m += 1000) {
      const batch: number[] = [];
      for (let k = m; k < m + 1000; k++) batch.push(1 + (k % 65535), (0x9e3779b1 ^ k) >>> 0, k, 1);
      all.push(...batch);
      await journal.append(batch);
      const now = (await Deno.stat(path)).size;
      // Not the batch's line appended: rewritten.
      if (now !== size + JSON.stringify(batch).length + 1) {
        compactions++;
        assertSameRecords(await fileRecords(path), latestMessages(all), `after message ${m}`);
      }
      size = now;
    }
    journal.close();
    // Past 4,000 records (4 × keep), then past twice what the last kept: at 5,000, 11,000,
    // 23,000, 47,000 and 95,000 messages (65,535 kept), then at 161,000, with no room left.
    assert.equal(compactions, 6);
    const reopened = await DeliveryJournal.open(path, 1000);
    const records = reopened.records;
    reopened.close();
    assertSameRecords(latestPerId(records), latestMessages(all), "reopened");
    assert.equal(latestPerId(records).length / 4, 65535);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery journal: a file holding more than its bound is read whole and appended to", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-journal-" });
  try {
    const path = join(dir, "mqtt_deliveries.jsonl");
    // 140,000 records of messages read in 140,000 parts (same id and hash, one line fewer each):
    // all one message each of ids 1…2, none dropped by a compaction, more than 131,070 records.
    const all: number[] = [];
    for (let k = 0; k < 140_000; k++) all.push(1 + (k & 1), 77, k, 140_000 - (k >> 1));
    await Deno.writeTextFile(path, JSON.stringify(all) + "\n");
    const journal = await DeliveryJournal.open(path, 2);
    assertSameRecords(journal.records, all, "read");
    await journal.append([3, 5, 140_000, 1]);
    journal.close();
    assertSameRecords(await fileRecords(path), [...all, 3, 5, 140_000, 1], "appended");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery journal: a file past its bound grows the buffer until the next compaction, which returns it to the bound", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-journal-" });
  try {
    const path = join(dir, "mqtt_deliveries.jsonl");
    // 200,000 messages cycling all 65,535 packet ids, as a journal that grew without bound (an
    // older version's) leaves it: each id's latest message is the one a compaction keeps.
    const all: number[] = [];
    for (let k = 0; k < 200_000; k++) all.push(1 + (k % 65_535), 1000 + k, k, 1);
    await Deno.writeTextFile(path, JSON.stringify(all) + "\n");
    const journal = await DeliveryJournal.open(path, 2);
    assert.ok(journal.capacity >= 200_000, `read into ${journal.capacity} records`);
    const added = [3, 7, 200_000, 1];
    await journal.append(added);
    assert.equal(journal.capacity, 131_072);
    journal.close();
    assertSameRecords(await fileRecords(path), latestMessages([...all, ...added]), "compacted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery journal: its lines, appended and compacted, are JSON.stringify of the records", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-journal-" });
  try {
    const path = join(dir, "mqtt_deliveries.jsonl");
    const journal = await DeliveryJournal.open(path, 1000);
    const random = prng(5);
    const batches: number[][] = [];
    // Hashes up to 2^32 - 1, lines past 2^32 and 2^53 - 1: the integers the journal holds.
    let start = 2 ** 32 - 50;
    for (let b = 0; b < 40; b++) {
      const batch: number[] = [];
      for (let k = 0; k < 1 + (b % 7); k++) {
        const lines = Math.floor(random() * 3);
        const hash = b === 3 ? 2 ** 32 - 1 : Math.floor(random() * 2 ** 32);
        batch.push(1 + Math.floor(random() * 65535), hash, start, lines);
        start += lines;
      }
      if (b === 39) batch.push(9, 0, Number.MAX_SAFE_INTEGER, 0);
      batches.push(batch);
      // A typed buffer, as the source hands them, must read the same as an array.
      await journal.append(b % 2 === 0 ? batch : Float64Array.from(batch));
    }
    journal.close();
    const lines = (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
    // Below its first compaction's limit every append is one line, as JSON.stringify wrote it.
    assert.deepEqual(lines, batches.map((b) => JSON.stringify(b)));
    // And a compaction writes its kept records so too.
    const small = await DeliveryJournal.open(path, 2);
    for (let id = 1; id <= 70_000; id += 500) await small.append([id % 65535 + 1, id, id, 1]);
    small.close();
    for (const line of (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "")) {
      assert.equal(JSON.stringify(JSON.parse(line)), line);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
