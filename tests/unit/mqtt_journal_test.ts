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
    assert.deepEqual(reopened.records, all);
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
