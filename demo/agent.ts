/**
 * One demo agent: a long-lived process standing in for an AI coding agent. It reads one JSON request
 * per line on stdin (`{"cmd": "<shell command>", "cwd": "<dir>"}`), runs the command with `bash -c`
 * in that directory, and answers one JSON line (`{"code", "stdout", "stderr"}`). Its environment carries
 * its own `COORD_HOLDER`, and `COORD_PID` is set to this process's pid, so leases it claims record this
 * long-lived process as the holder: killing it makes its leases "holder dead".
 */
import { spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A request from the demo driver. */
interface Request {
  cmd: string;
  cwd: string;
}

const env = { ...process.env, COORD_PID: String(process.pid) };
process.stdout.write(`${JSON.stringify({ ready: process.pid })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const req = JSON.parse(line) as Request;
  const res = spawnSync('bash', ['-c', req.cmd], { cwd: req.cwd, env, encoding: 'utf8' });
  process.stdout.write(
    `${JSON.stringify({ code: res.status ?? 128, stdout: res.stdout, stderr: res.stderr })}\n`,
  );
}
