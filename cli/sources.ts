/**
 * Every source `start` can read, one registration line each: adding a source is one folder
 * under `engine/sources/` that exports a `SourceDefinition`, plus one line here.
 * @module
 */
import {
  fileSource,
  mqttSource,
  natsSource,
  serialSource,
  SourceRegistry,
} from "../engine/run_mod.ts";
import { simulatorSource } from "./simulator_source.ts";

/** The registry `start` looks `--source` up in. */
export const SOURCES: SourceRegistry = new SourceRegistry()
  .register(simulatorSource)
  .register(fileSource)
  .register(serialSource)
  .register(mqttSource)
  .register(natsSource);
