/**
 * The names of the line formats, which settings validate and parsers implement.
 * @module
 */

/** An input format. `raw`: the lines of `raw.log`, each `<ISO receive time> <JSON string>`,
 * whose strings are `kv` lines; the receive time is the reading's event time. */
export type InputFormat = "json" | "csv" | "kv" | "raw";

/** The input formats, for validation messages. */
export const INPUT_FORMATS: readonly InputFormat[] = ["json", "csv", "kv", "raw"];
