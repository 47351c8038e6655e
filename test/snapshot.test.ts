// The start-up snapshot against the kernel, with ss from iproute2 as the independent oracle:
// sockets opened before the capture starts are all found, in the states ss reports.
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import {KernelSource, type KernelSourceOptions} from '../src/capture/kernel-source.js';
import {stateName, TcpState, type ExistingSocket} from '../src/core/transition.js';
import {bpfLinksOf} from './helpers/cli.js';
import {kernelTest, kernelTestSerial} from './helpers/kernel.js';
import {connectAndClose, listen, openSocketMix, type SocketMix} from './helpers/net.js';
import {comparableCounts, ssCounts, sortedCounts, timeWaitOverflows} from './helpers/ss.js';

function snapshotCounts(sockets: readonly ExistingSocket[], mix: SocketMix): Map<string, number> {
	const counts = new Map<string, number>();
	for (const socket of sockets) {
		if (mix.owns(socket.lport, socket.rport)) {
			const name = stateName(socket.state);
			counts.set(name, (counts.get(name) ?? 0) + 1);
		}
	}

	return counts;
}

/** Starts a kernel source and returns the snapshot it took (stop the source when done). */
function startWithSnapshot(options: KernelSourceOptions = {}, source = new KernelSource(options)): {sockets: readonly ExistingSocket[]; source: KernelSource} {
	let sockets: readonly ExistingSocket[] = [];
	source.start({
		snapshot(pass) {
			sockets = pass.sockets;
		},
		batch() {},
		error() {},
	});
	return {sockets, source};
}

for (const host of ['127.0.0.1', '::1']) {
	kernelTest(`${host}: sockets opened before the start are in the snapshot, in ss's states`, async t => {
		const overflows = timeWaitOverflows();
		const mix = await openSocketMix(host, {established: 5, closeWait: 7, timeWait: 3});
		const {ports} = mix;
		const {sockets, source} = startWithSnapshot();
		const expected = ssCounts(ports, mix.owns);
		await source.stop();
		await mix.close();

		t.deepEqual(sortedCounts(snapshotCounts(sockets, mix)), sortedCounts(expected));
		// What was built is really there: 3 listeners, 5 established pairs, 7 CLOSE_WAIT
		// with their 7 FIN_WAIT2 clients, 3 TIME_WAIT (when the kernel kept TIME_WAITs meanwhile).
		t.deepEqual(comparableCounts(expected, overflows), comparableCounts(new Map([
			['LISTEN', 3], ['ESTABLISHED', 10], ['CLOSE_WAIT', 7], ['FIN_WAIT2', 7], ['TIME_WAIT', 3],
		]), overflows));
		const listener = sockets.find(socket => ports.has(socket.lport) && stateName(socket.state) === 'LISTEN');
		t.like(listener, {laddr: host, family: host.includes(':') ? 6 : 4});
		t.true(listener!.netns > 0 && listener!.sock > 0);
		// Every socket this process holds has it as owner; TIME_WAIT ones belong to no process.
		for (const socket of sockets.filter(socket => mix.owns(socket.lport, socket.rport))) {
			t.is(socket.pid, stateName(socket.state) === 'TIME_WAIT' ? 0 : process.pid, stateName(socket.state));
		}
	});
}

kernelTest('the snapshot names each side\'s owner when client and server are different processes', async t => {
	const server = await listen('127.0.0.1');
	const client = spawn(process.execPath, ['-e', `
		const socket = require('node:net').connect(${server.port}, '127.0.0.1', () => console.log(socket.localPort));
		setTimeout(() => {}, 60000);
	`]);
	try {
		const [output] = await once(client.stdout, 'data') as [Buffer];
		const clientPort = Number(output.toString());
		const {sockets, source} = startWithSnapshot();
		await source.stop();

		const clientSide = sockets.find(socket => socket.lport === clientPort && socket.rport === server.port);
		const serverSide = sockets.find(socket => socket.lport === server.port && socket.rport === clientPort);
		t.like(clientSide, {pid: client.pid, comm: 'node', state: TcpState.ESTABLISHED});
		t.like(serverSide, {pid: process.pid, state: TcpState.ESTABLISHED});
	} finally {
		client.kill();
		await server.close();
	}
});

// Serial: the links counted are this process's, and the other tests of the file open sources too.
kernelTestSerial('loaded on a worker thread (prepare) or at once, passes only or tracing: the same snapshot; passes only attaches nothing', async t => {
	const mix = await openSocketMix('127.0.0.1', {established: 3, closeWait: 2, timeWait: 2});
	try {
		const expected = sortedCounts(ssCounts(mix.ports, mix.owns));
		for (const passesOnly of [false, true]) {
			const source = new KernelSource({passesOnly});
			await source.prepare();
			const {sockets} = startWithSnapshot({}, source);
			const links = bpfLinksOf(process.pid).length;
			let changes = 0;
			const counting = new KernelSource({passesOnly});
			counting.start({
				batch(batch) {
					changes += batch.transitions.length;
				},
				error() {},
			});
			const server = await listen('127.0.0.1');
			await connectAndClose('127.0.0.1', server.port);
			await server.close();
			await new Promise(resolve => setTimeout(resolve, 200));
			await counting.stop();
			await source.stop();
			t.deepEqual(sortedCounts(snapshotCounts(sockets, mix)), expected, `passesOnly ${passesOnly}`);
			if (passesOnly) {
				t.is(links, 0, 'no tracepoint attached');
				t.is(changes, 0, 'no change seen');
			} else {
				t.true(links >= 5, `${links} links while tracing`);
				t.true(changes >= 10, `${changes} changes seen`);
			}
		}
	} finally {
		await mix.close();
	}
});
