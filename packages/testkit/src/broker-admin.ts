/**
 * Server-side faults for RabbitMQ through rabbitmqctl. The broker is shared by every test file running
 * in parallel, so prefer closeBrokerConnectionsOf(pid), which cuts only one process's connections.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { testEnv } from './env';

const run = promisify(execFile);

export async function rabbitmqctl(...args: string[]): Promise<string> {
  // rabbitmqctl needs the broker's Erlang cookie: root (or the rabbitmq user) has it; others try sudo.
  const asRoot = process.getuid?.() === 0;
  const [command, argv] = asRoot ? ['rabbitmqctl', args] : ['sudo', ['-n', 'rabbitmqctl', ...args]];
  try {
    const { stdout } = await run(command, argv, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`rabbitmqctl ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Closes EVERY client connection on the broker, those of parallel test files included. */
export async function closeAllBrokerConnections(reason = 'closed by a chat3 test'): Promise<void> {
  await rabbitmqctl('close_all_connections', reason);
}

interface BrokerConnection {
  pid: string;
  peer_port: number;
}

/**
 * Closes the broker connections of one local process (e.g. a spawned service), found by matching the
 * process's TCP source ports with the broker's peer ports. Returns how many it closed.
 */
export async function closeBrokerConnectionsOf(processId: number, reason = 'closed by a chat3 test'): Promise<number> {
  const brokerPort = Number(new URL(testEnv().rabbitUrl).port || 5672);
  const localPorts = await localPortsTo(processId, brokerPort);
  // Tab-separated `<rabbit@host.1.2.3>\t54321` lines: the JSON formatter prints pids in a syntax
  // that close_connection does not accept.
  const listed: BrokerConnection[] = (await rabbitmqctl('list_connections', '--silent', 'pid', 'peer_port'))
    .split('\n')
    .map((line) => line.trim().split('\t'))
    .filter((cols): cols is [string, string] => cols.length === 2)
    .map(([pid, port]) => ({ pid, peer_port: Number(port) }));
  const targets = listed.filter((c) => localPorts.has(c.peer_port));
  for (const target of targets) await rabbitmqctl('close_connection', target.pid, reason);
  return targets.length;
}

/** Source ports of the process's TCP sockets connected to `remotePort` (from /proc; Linux only). */
async function localPortsTo(processId: number, remotePort: number): Promise<Set<number>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${processId}/fd`)) {
    const target = await readlink(`/proc/${processId}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${processId}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const cols = line.trim().split(/\s+/);
      const [local, remote, inode] = [cols[1], cols[2], cols[9]];
      if (!local || !remote || !inode || !inodes.has(inode)) continue;
      if (parseInt(remote.split(':')[1] ?? '', 16) === remotePort) ports.add(parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}
