// A real claimer process for the provisioning-lock race, run as `node --import tsx provision-worker.ts
// <common dir> <log file>`: waits for a line on stdin (the start gun, after printing `ready`), takes
// the provisioning lock, appends `enter <pid>` to the log, holds it ~20 ms, appends `leave <pid>`,
// releases it. Exits 0; any error goes to stderr with exit 1.

import { appendFileSync } from 'node:fs';
import { ProvisionLock } from '../../../src/leases/provision-lock.js';
import { sleepSync } from '../../../src/refs/lock.js';
import { currentHost } from '../../../src/refs/worktree-id.js';

const [commonDir, log] = process.argv.slice(2);
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.destroy();
const lock = ProvisionLock.acquire({ commonDir: commonDir! }, currentHost(), 60_000);
appendFileSync(log!, `enter ${process.pid}${lock.broke ? ' broke' : ''}\n`);
sleepSync(20);
appendFileSync(log!, `leave ${process.pid}\n`);
lock.release();
