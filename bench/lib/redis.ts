/**
 * A throw-away redis-server for the Socket.IO Redis adapter (S3): installed from Debian with
 * apt-get when missing (only when running as root), started on a free 127.0.0.1 port with no
 * persistence, tracked by PID and stopped at the end.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './free-port.js';

/** A running redis-server. */
export interface RedisServer {
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
}

function findBinary(): string | undefined {
  for (const path of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
    const probe = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 5_000 });
    if (probe.status === 0) return path;
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  return which.status === 0 && found !== '' ? found : undefined;
}

function install(): boolean {
  if (process.getuid?.() !== 0) {
    console.log('redis-server is not installed and this is not root: cannot apt-get install it');
    return false;
  }
  console.log('redis-server is not installed: apt-get install -y redis-server ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0) {
    spawnSync('apt-get', ['update'], { env, encoding: 'utf8', timeout: 300_000 });
    result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
      env,
      encoding: 'utf8',
      timeout: 300_000,
    });
  }
  if (result.status !== 0) {
    console.log(`apt-get install redis-server failed:\n${result.stdout}${result.stderr}`);
    return false;
  }
  return true;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Starts a redis-server (installing it when missing and allowed). Resolves undefined, after
 * saying why, when that is not possible.
 */
export async function startRedis(): Promise<RedisServer | undefined> {
  let binary = findBinary();
  if (binary === undefined && install()) binary = findBinary();
  if (binary === undefined) return undefined;
  const port = await freePort();
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const stop = async (): Promise<void> => {
    if (exited(child)) return;
    child.kill('SIGTERM');
    for (let waited = 0; waited < 3_000 && !exited(child); waited += 50) await delay(50);
    if (!exited(child)) child.kill('SIGKILL');
  };
  process.once('exit', () => {
    if (!exited(child)) child.kill('SIGKILL');
  });
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (exited(child)) break;
    if (await answersPing(port)) return { port, pid: child.pid, stop };
    await delay(100);
  }
  await stop();
  console.log('redis-server did not answer PING within 10 s');
  return undefined;
}
