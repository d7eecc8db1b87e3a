/**
 * Vigil's entry point: `deno run … main.ts <command> [flags]`. The commands are in `cli/`.
 * @module
 */
import { main } from "./cli/main.ts";

export { main };

if (import.meta.main) Deno.exit(await main(Deno.args));
