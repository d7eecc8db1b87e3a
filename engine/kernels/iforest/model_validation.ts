/**
 * Parsing and validation of an `isolation-forest/v1` model file (zod and the structural checks
 * it cannot make). Its own module so that a run without a model file never loads zod:
 * load_model.ts imports it when it reads one (about 4 MiB of heap with the settings' schema,
 * BENCHMARKS.md "Replay peak RSS, third pass").
 * @module
 */
import { z } from "zod";
import {
  ISOLATION_FOREST_FORMAT,
  type IsolationForestModel,
  ModelError,
} from "./isolation_forest_model.ts";

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const index = z.number().int();

const treeSchema = z.object({
  left: z.array(index).min(1),
  right: z.array(index).min(1),
  feature: z.array(index).min(1),
  threshold: z.array(z.number()).min(1),
  samples: z.array(z.number().int().nonnegative()).min(1),
});

const modelSchema = z.object({
  format: z.literal(ISOLATION_FOREST_FORMAT),
  features: z.array(z.string().min(1)).min(1),
  scaler: z.object({ mean: z.array(finite), scale: z.array(finite) }).nullable(),
  max_samples: z.number().int().positive(),
  offset: finite,
  alarm_threshold: finite.optional(),
  alarm_quantile: z.number().gt(0).lte(1).optional(),
  trees: z.array(treeSchema).min(1),
});

function fieldPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : (s ? "." : "") + String(p);
  return s || "(root)";
}

/**
 * Checks what the schema cannot: equal array lengths, child indices inside the tree (and
 * pointing forward, so no tree has a cycle), every node but the root the child of exactly one
 * node (so each tree is a tree), both children or none, feature indices in range.
 */
function checkStructure(m: IsolationForestModel): void {
  const d = m.features.length;
  if (new Set(m.features).size !== d) {
    throw new ModelError(`features: duplicate name in ${JSON.stringify(m.features)}`);
  }
  if (m.scaler) {
    for (const k of ["mean", "scale"] as const) {
      if (m.scaler[k].length !== d) {
        throw new ModelError(
          `scaler.${k}: has ${m.scaler[k].length} values, features has ${d}`,
        );
      }
    }
    m.scaler.scale.forEach((s, j) => {
      if (s === 0) throw new ModelError(`scaler.scale[${j}]: is 0 (store 1 for a constant)`);
    });
  }
  m.trees.forEach((t, ti) => {
    const n = t.left.length;
    for (const k of ["right", "feature", "threshold", "samples"] as const) {
      if (t[k].length !== n) {
        throw new ModelError(`trees[${ti}].${k}: has ${t[k].length} nodes, left has ${n}`);
      }
    }
    const parents = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const l = t.left[i]!, r = t.right[i]!;
      const at = `trees[${ti}]`;
      if (i > 0 && parents[i] === 0) throw new ModelError(`${at}: node ${i} has no parent`);
      if (l === -1 && r === -1) continue;
      if (l === -1 || r === -1) {
        throw new ModelError(`${at}.left[${i}]/right[${i}]: ${l}/${r}, one child only`);
      }
      if (!(l > i && l < n)) {
        throw new ModelError(`${at}.left[${i}]: ${l} is not a node after ${i}`);
      }
      if (!(r > i && r < n)) {
        throw new ModelError(`${at}.right[${i}]: ${r} is not a node after ${i}`);
      }
      if (parents[l]! + parents[r]! > 0 || l === r) {
        throw new ModelError(`${at}.left[${i}]/right[${i}]: ${l}/${r}, a node with two parents`);
      }
      parents[l] = parents[r] = 1;
      const f = t.feature[i]!;
      if (!(f >= 0 && f < d)) {
        throw new ModelError(`${at}.feature[${i}]: ${f} is not in 0…${d - 1}`);
      }
      if (!Number.isFinite(t.threshold[i]!)) {
        throw new ModelError(`${at}.threshold[${i}]: ${t.threshold[i]} is not finite`);
      }
    }
  });
}

/**
 * Validates a parsed JSON value as a model. Throws a {@linkcode ModelError} naming the first
 * bad field (e.g. `trees[3].feature[7]: 9 is not in 0…7`).
 */
export function validateModel(value: unknown): IsolationForestModel {
  const r = modelSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ModelError(`${fieldPath(issue.path)}: ${issue.message}`);
  }
  const m = r.data as IsolationForestModel;
  checkStructure(m);
  return m;
}

/** Parses and validates a model file's text; a {@linkcode ModelError} names the bad field. */
export function parseModel(text: string): IsolationForestModel {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ModelError(`not JSON: ${(e as Error).message}`);
  }
  return validateModel(value);
}
