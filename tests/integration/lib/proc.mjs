// Child processes started by the tests: tracked by PID and always stopped,
// also when a test throws or the test process is interrupted.
import { spawn } from 'node:child_process';
import net from 'node:net';

const live = new Set();

function killLive() {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  live.clear();
}

process.on('exit', killLive);
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    killLive();
    process.exit(128 + num);
  });
}

// Starts a long-running process; its stdout/stderr are collected in
// child.output (string). The process is stopped at exit if still running.
// It leads its own process group, so that a stop that has to force it
// also ends what it started (httpd's children, a cluster's backends)
// instead of leaving them to init.
export function spawnTracked(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...opts });
  child.output = '';
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      child.exitCode_ = code;
      child.exitSignal = signal;
      resolve({ code, signal });
    });
    child.on('error', (err) => {
      live.delete(child);
      child.output += `spawn error: ${err.message}\n`;
      resolve({ code: -1, signal: null });
    });
  });
  child.stdout?.on('data', (d) => (child.output += d));
  child.stderr?.on('data', (d) => (child.output += d));
  // Never keep the test process alive: a test that fails before stop()
  // still lets the process end, and the exit handler stops the child.
  child.unref();
  child.stdout?.unref?.();
  child.stderr?.unref?.();
  if (child.pid) live.add(child);
  return child;
}

// Stops one process by its PID: signal, wait; after timeoutMs, SIGKILL
// to its whole process group (said on stderr, so that a slow stop is seen).
export async function stopProcess(child, { signal = 'SIGTERM', timeoutMs = 10000 } = {}) {
  if (!child || !live.has(child)) return child ? child.exited : undefined;
  try {
    process.kill(child.pid, signal);
  } catch {
    return child.exited;
  }
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const r = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  if (r === 'timeout') {
    process.stderr.write(`[harness] PID ${child.pid} still running ${timeoutMs} ms after ${signal}: killing its process group\n`);
    for (const target of [-child.pid, child.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or gone meanwhile
      }
    }
    return child.exited;
  }
  return r;
}

// Runs a command to completion: { code, stdout, stderr }.
export function run(cmd, args, { env, input, cwd, timeoutMs = 30000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: env ?? process.env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      stderr += `\n[harness] ${cmd} timed out after ${timeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + err.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

// A loopback port nobody listens on right now.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(port, host) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

// Waits until host:port accepts connections. Fails early when `child`
// exits first.
export async function waitForPort(port, { host = '127.0.0.1', timeoutMs = 15000, child } = {}) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child?.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`process exited before listening on ${host}:${port}`);
    if (await tryConnect(port, host)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
