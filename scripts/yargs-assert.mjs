// Stand-in for node:assert in the bundled yargs (see scripts/build.mjs): yargs only uses these two
// functions, for internal invariants. Same results (node's own assert throws, with its message,
// when a check fails), but node:assert is loaded only then: importing it initialises process.stderr
// and its colour detection, ~2.5 ms of every start-up.

const assert = () => process.getBuiltinModule('node:assert');

export function notStrictEqual(actual, expected, message) {
  if (Object.is(actual, expected)) assert().notStrictEqual(actual, expected, message);
}

export function strictEqual(actual, expected, message) {
  if (!Object.is(actual, expected)) assert().strictEqual(actual, expected, message);
}
