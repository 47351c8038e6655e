// Connections carry their owner's control group, and the container or pod it names: processes
// this test moves into control groups laid out as docker and Kubernetes (containerd) lay them
// out, each holding a loopback connection in a network namespace of the test's own.
import {spawn, type ChildProcess} from 'node:child_process';
import {randomBytes, randomUUID} from 'node:crypto';
import {once} from 'node:events';
import {mkdirSync, readFileSync, rmdirSync} from 'node:fs';
import {createInterface} from 'node:readline';
import type {ExecutionContext} from 'ava';
import {run} from './helpers/cli.js';
import {kernelTest} from './helpers/kernel.js';
import {testNamespace} from './helpers/netns.js';

type Row = {pid: number | null; cgroup: string | null; container: string | null; pod: string | null; laddr: string; lport: number; rport: number; state: string};

// A loopback server and a client of it; "ready" once connected, held until stdin ends.
const holderScript = `
const net = require('node:net');
const held = [];
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
const server = net.createServer(socket => held.push(socket)).listen(0, '127.0.0.1', () => {
	const client = net.connect(server.address().port, '127.0.0.1', () => {
		held.push(client);
		setTimeout(() => process.stdout.write('ready\\n'), 100);
	});
});
`;

// A server that never reads, and a client that fills the connection and closes: the client's
// end stays as an orphan in FIN-WAIT-1 (its data unsent) that no process holds.
const orphanScript = `
const net = require('node:net');
const held = [];
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
const server = net.createServer(socket => { held.push(socket); socket.pause(); }).listen(0, '127.0.0.1', () => {
	const client = net.connect(server.address().port, '127.0.0.1', () => {
		const fill = () => {
			while (client.write(Buffer.alloc(65536))) {}
		};
		fill();
		setTimeout(() => {
			client.destroy();
			setTimeout(() => process.stdout.write('ready\\n'), 200);
		}, 300);
	});
	client.on('error', () => {});
});
`;

/** Where the unified (v2) hierarchy is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host. */
function unifiedMount(): string {
	const line = readFileSync('/proc/mounts', 'utf8').split('\n').find(entry => entry.split(' ')[2] === 'cgroup2');
	if (!line) {
		throw new Error('no cgroup2 hierarchy is mounted');
	}

	return line.split(' ')[1]!;
}

/** Runs the holder inside `cgroup` (a path under the mount) and the namespace, until the test ends. */
async function holdIn(t: ExecutionContext, mount: string, cgroup: string, namespace: string, script = holderScript): Promise<ChildProcess> {
	const directories = cgroup.split('/').filter(Boolean).map((_, index, parts) => `${mount}/${parts.slice(0, index + 1).join('/')}`);
	const made = directories.filter(directory => {
		try {
			mkdirSync(directory);
			return true;
		} catch {
			return false; // there already
		}
	});
	// The shell moves itself into the control group, then becomes the holder in the namespace
	// (ip netns exec mounts a /sys of the namespace's own, without the control groups).
	const holder = spawn('sh', ['-c', `echo $$ > ${mount}${cgroup}/cgroup.procs && exec ip netns exec "$0" "$1" -e "$2"`, namespace, process.execPath, script], {stdio: ['pipe', 'pipe', 'inherit']});
	t.teardown(async () => {
		holder.stdin.end();
		if (holder.exitCode === null) {
			await once(holder, 'exit');
		}

		for (const directory of made.reverse()) {
			rmdirSync(directory);
		}
	});
	const exited = once(holder, 'exit').then(([code]) => `exited with ${String(code)}`);
	const [line] = await Promise.race([once(createInterface({input: holder.stdout}), 'line'), exited.then(reason => [reason])]) as [string];
	t.is(line, 'ready');
	return holder;
}

kernelTest('rows carry the owner\'s cgroup and the container and pod it names; the container filter and column use them', async t => {
	const mount = unifiedMount();
	const namespace = testNamespace(t, 'cg');

	const dockerId = randomBytes(32).toString('hex');
	const containerId = randomBytes(32).toString('hex');
	const pod = randomUUID();
	const docker = `/system.slice/docker-${dockerId}.scope`;
	const kube = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${pod.replaceAll('-', '_')}.slice/cri-containerd-${containerId}.scope`;
	const dockerHolder = await holdIn(t, mount, docker, namespace);
	const kubeHolder = await holdIn(t, mount, kube, namespace);

	const {code, stdout, stderr} = await run(['-b', '-n', '1', '--json', '--netns', namespace]);
	t.is(code, 0, stderr);
	const rows = (JSON.parse(stdout) as {connections: Row[]}).connections;
	const of = (holder: ChildProcess) => rows.filter(row => row.pid === holder.pid);
	t.is(of(dockerHolder).length, 3, 'the listener and both ends of its connection');
	t.is(of(kubeHolder).length, 3);
	for (const row of of(dockerHolder)) {
		t.like(row, {cgroup: docker, container: dockerId.slice(0, 12), pod: null});
	}

	for (const row of of(kubeHolder)) {
		t.like(row, {cgroup: kube, container: containerId.slice(0, 12), pod});
	}

	const filtered = await run(['-b', '-n', '1', '--json', '--netns', namespace, 'container', '~', `^${dockerId.slice(0, 6)}`]);
	t.is(filtered.code, 0, filtered.stderr);
	t.deepEqual(new Set((JSON.parse(filtered.stdout) as {connections: Row[]}).connections.map(row => row.pid)), new Set([dockerHolder.pid]));

	const text = await run(['-b', '-n', '1', '--netns', namespace, '--sort', 'container']);
	t.is(text.code, 0, text.stderr);
	const lines = text.stdout.split('\n');
	const header = lines.findIndex(line => /^ *PID /.test(line));
	t.true(header > 0 && lines[header]!.includes(' CONTAINER '), 'the text has a CONTAINER column');
	const column = lines[header]!.indexOf('CONTAINER');
	const shown = lines.slice(header + 1).filter(Boolean).map(line => line.slice(column, column + 12));
	t.deepEqual(shown, [...Array.from({length: 3}, () => dockerId.slice(0, 12)), ...Array.from({length: 3}, () => containerId.slice(0, 12))].sort(), 'sorted by it');
});

kernelTest('a connection no process holds (an orphan) takes the container of the socket\'s own control group', async t => {
	const mount = unifiedMount();
	const namespace = testNamespace(t, 'cgo');
	const dockerId = randomBytes(32).toString('hex');
	await holdIn(t, mount, `/system.slice/docker-${dockerId}.scope`, namespace, orphanScript);
	const {code, stdout, stderr} = await run(['-b', '-n', '1', '--json', '--netns', namespace]);
	t.is(code, 0, stderr);
	const orphans = (JSON.parse(stdout) as {connections: Row[]}).connections.filter(row => row.state === 'FIN_WAIT1');
	t.is(orphans.length, 1, 'ss would list one FIN-WAIT-1');
	t.like(orphans[0], {pid: null, container: dockerId.slice(0, 12), cgroup: `/system.slice/docker-${dockerId}.scope`});
});
