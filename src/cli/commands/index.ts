import type { CommandModule } from 'yargs';
import { claimCommand } from './claim.js';
import { cleanupCommand } from './cleanup.js';
import { clearCommand } from './clear.js';
import { crashCommand } from './crash.js';
import { doctorCommand } from './doctor.js';
import { doneCommand } from './done.js';
import { gateCommand } from './gate.js';
import { hooksCommand } from './hooks.js';
import { initCommand } from './init.js';
import { listCommand } from './list.js';
import { mergeCommand } from './merge.js';
import { parallelCommand } from './parallel.js';
import { releaseCommand } from './release.js';
import { renewCommand } from './renew.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { serverHookCommand } from './server-hook.js';
import { showCommand } from './show.js';
import { statusCommand } from './status.js';
import { syncCommand } from './sync.js';
import { takeoverCommand } from './takeover.js';

/**
 * Every CLI command, one module per file in this folder. (The hooks' internal `git-coord hook <name>`
 * is not among them: src/cli/main.ts dispatches it before yargs loads, so it is never suggested.)
 */
// biome-ignore lint/suspicious/noExplicitAny: yargs command modules differ in their argument types
export const commands: ReadonlyArray<CommandModule<any, any>> = [
  claimCommand,
  renewCommand,
  releaseCommand,
  doneCommand,
  crashCommand,
  takeoverCommand,
  clearCommand,
  listCommand,
  showCommand,
  statusCommand,
  gateCommand,
  reportCommand,
  mergeCommand,
  cleanupCommand,
  runCommand,
  parallelCommand,
  doctorCommand,
  syncCommand,
  initCommand,
  hooksCommand,
  serverHookCommand,
];
