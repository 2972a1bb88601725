/**
 * `batchWhileBusy`: values that arrive in one turn while idle are worked on together at
 * its end, values that arrive during the work are handed on together afterwards, in
 * order, and completion waits for the work.
 */
import assert from "node:assert/strict";
import { defer, lastValueFrom, Subject, toArray } from "rxjs";
import { batchWhileBusy } from "../../projections/batch-while-busy.ts";

Deno.test("batchWhileBusy: values that arrive during work are handed on as one batch, in order", async () => {
  const source = new Subject<number>();
  const batches: number[][] = [];
  let release!: () => void;
  const output = lastValueFrom(
    source.pipe(
      batchWhileBusy((batch) =>
        defer(async () => {
          batches.push(batch);
          if (batches.length === 1) await new Promise<void>((resolve) => release = resolve);
          return batch.length;
        })
      ),
      toArray(),
    ),
  );
  source.next(1);
  await Promise.resolve();
  source.next(2);
  assert.deepEqual(batches, [], "work waits for the end of the turn");
  await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 3; i <= 6; i++) source.next(i);
  source.complete();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(batches, [[1, 2]], "the rest waits while the first batch is worked on");
  release();
  assert.deepEqual(await output, [2, 4], "one result per batch, and completion after the last");
  assert.deepEqual(batches, [[1, 2], [3, 4, 5, 6]]);
});

Deno.test("batchWhileBusy: work that fails ends the stream with its error", async () => {
  const source = new Subject<number>();
  const output = lastValueFrom(
    source.pipe(batchWhileBusy(() => defer(() => Promise.reject(new Error("database gone"))))),
  );
  source.next(1);
  await assert.rejects(output, /database gone/);
});

Deno.test("batchWhileBusy: values that arrive while idle are worked on one by one", async () => {
  const source = new Subject<string>();
  const batches: string[][] = [];
  const output = lastValueFrom(
    source.pipe(batchWhileBusy((batch) => defer(() => Promise.resolve(batches.push(batch)))), toArray()),
  );
  for (const value of ["a", "b", "c"]) {
    source.next(value);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  source.complete();
  assert.deepEqual(await output, [1, 2, 3]);
  assert.deepEqual(batches, [["a"], ["b"], ["c"]]);
});
