// What the kernel adds to the transitions, against the kernel: the process that accepted a
// connection, each socket's counters in socket passes, and a live table that keeps agreeing
// with ss as connections come and go. ss from iproute2 is the oracle.
import {execFileSync, spawn} from 'node:child_process';
import {once} from 'node:events';
import {statSync} from 'node:fs';
import net from 'node:net';
import {setTimeout as delay} from 'node:timers/promises';
import {KernelSource} from '../src/capture/kernel-source.js';
import {finishNow, type SocketPass, type TransitionSource} from '../src/core/source.js';
import {stateName, TcpState, type SocketFigures} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {Ending, OwnerSource} from '../src/model/connection.js';
import {feedTable} from '../src/model/feed-table.js';
import {captureDuring, kernelTest} from './helpers/kernel.js';
import {connectOpen, openSocketMix, type SocketMix} from './helpers/net.js';
import {comparableCounts, ssCounts, ssLocalPortsInState, timeWaitOverflows} from './helpers/ss.js';

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Per-state counts of the table's rows of the mix (closed rows lingering aside). */
function tableCounts(table: ConnectionTable, mix: SocketMix): Map<string, number> {
	const counts = new Map<string, number>();
	table.forEach(connection => {
		const name = stateName(connection.state);
		if (name !== 'CLOSE' && mix.owns(connection.lport, connection.rport)) {
			counts.set(name, (counts.get(name) ?? 0) + 1);
		}
	});
	return counts;
}

/** The source, and a way to wait until `count` more of its complete passes have been handled. */
function countingPasses(source: TransitionSource): {source: TransitionSource; after(count: number): Promise<void>} {
	let seen = 0;
	const waiting = new Set<{at: number; resolve: () => void}>();
	return {
		source: {
			start(handlers) {
				source.start({
					...handlers,
					pass(pass) {
						finishNow(handlers.pass?.(pass));
						if (!pass.complete) {
							return;
						}

						seen++;
						for (const wait of waiting) {
							if (wait.at <= seen) {
								waiting.delete(wait);
								wait.resolve();
							}
						}
					},
				});
			},
			stop: async () => source.stop(),
		},
		async after(count) {
			await new Promise<void>(resolve => {
				waiting.add({at: seen + count, resolve});
			});
		},
	};
}

for (const host of ['127.0.0.1', '::1']) {
	kernelTest(`${host}: the live table keeps agreeing with ss as connections open and close`, async t => {
		const overflows = timeWaitOverflows();
		const mix = await openSocketMix(host, {established: 5, closeWait: 7, timeWait: 3});
		const table = new ConnectionTable();
		const passes = countingPasses(new KernelSource({passIntervalMs: 40}));
		let failure: Error | undefined;
		feedTable(passes.source, table, now, error => {
			failure = error;
		});
		try {
			t.deepEqual(comparableCounts(tableCounts(table, mix), overflows), comparableCounts(ssCounts(mix.ports, mix.owns), overflows), 'right after the start');
			await mix.add({established: 3, closeWait: 4, timeWait: 2});
			await mix.finishEstablished(2);
			await passes.after(2);
			const expected = ssCounts(mix.ports, mix.owns);
			t.deepEqual(comparableCounts(tableCounts(table, mix), overflows), comparableCounts(expected, overflows), 'after the traffic');
			// What was built is there: 5 + 3 - 2 established pairs, 11 CLOSE_WAIT with their
			// FIN_WAIT2 clients, 3 + 2 + 2 TIME_WAIT (when the kernel kept TIME_WAITs meanwhile).
			t.deepEqual(comparableCounts(expected, overflows), comparableCounts(new Map([
				['LISTEN', 3], ['ESTABLISHED', 12], ['CLOSE_WAIT', 11], ['FIN_WAIT2', 11], ['TIME_WAIT', 7],
			]), overflows));
		} finally {
			await passes.source.stop();
			await mix.close();
		}

		t.is(failure, undefined);
	});
}

kernelTest('passes add the sockets the stream never saw, in ss\'s states', async t => {
	const overflows = timeWaitOverflows();
	const mix = await openSocketMix('127.0.0.1', {established: 4, closeWait: 3, timeWait: 2});
	const table = new ConnectionTable();
	const passes = countingPasses(new KernelSource({passIntervalMs: 40}));
	// No start-up snapshot: only passes can tell the table about these sockets.
	const withoutSnapshot: TransitionSource = {
		start: handlers => {
			passes.source.start({...handlers, snapshot: undefined});
		},
		stop: async () => passes.source.stop(),
	};
	feedTable(withoutSnapshot, table, now, () => {});
	try {
		t.is(tableCounts(table, mix).size, 0);
		await passes.after(2);
		t.deepEqual(comparableCounts(tableCounts(table, mix), overflows), comparableCounts(ssCounts(mix.ports, mix.owns), overflows));
		const timeWaitsKept = timeWaitOverflows() === overflows;
		// Every row of the mix came from a pass, but one whose change was still on its way when the
		// capture started (a loaded machine is slow to finish the mix's closes): that one the
		// stream told of.
		let streamed = 0;
		table.forEach(connection => {
			streamed += mix.owns(connection.lport, connection.rport) && connection.transitionCount > 0 ? 1 : 0;
		});
		t.true(table.reconciled + streamed >= 4 + 4 + 3 + 3 + (timeWaitsKept ? 2 : 0) + 3, `${table.reconciled} rows reconciled, ${streamed} streamed`);
		table.forEach(connection => {
			// A close whose TIME_WAIT the kernel did not keep is a row the stream made as it closed.
			const timeWaitRow = connection.state === TcpState.TIME_WAIT || connection.state === TcpState.CLOSE;
			if (mix.owns(connection.lport, connection.rport) && (timeWaitsKept || !timeWaitRow)) {
				t.true(connection.ageIsLowerBound, 'found already open: its age is a lower bound');
			}
		});
	} finally {
		await withoutSnapshot.stop();
		await mix.close();
	}
});

/** A server in a process of its own that accepts connections and keeps them open. */
async function serverProcess(host: string): Promise<{port: number; pid: number; stop(): void}> {
	const child = spawn(process.execPath, ['-e', `
		const server = require('node:net').createServer(socket => socket.on('error', () => {}));
		server.listen(0, ${JSON.stringify(host)}, () => console.log(server.address().port));
		setTimeout(() => {}, 60000);
	`]);
	const [output] = await once(child.stdout, 'data') as [Buffer];
	return {port: Number(output.toString()), pid: child.pid!, stop: () => child.kill()};
}

/**
 * A pre-forked server: a master process that listens, hands its listening socket to a worker
 * process and closes its own copy, so the worker accepts on a socket the master opened.
 */
async function preforkedServer(host: string): Promise<{port: number; master: number; worker: number; stop(): void}> {
	// The worker goes when its master does, however the master ends.
	const worker = `
		process.on('disconnect', () => process.exit(0));
		process.on('message', (message, server) => {
			server.on('connection', socket => socket.on('error', () => {}));
			process.send(process.pid);
		});
	`;
	const master = spawn(process.execPath, ['-e', `
		const server = require('node:net').createServer();
		server.listen(0, ${JSON.stringify(host)}, () => {
			const {port} = server.address();
			const worker = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(worker)}], {stdio: ['ignore', 'ignore', 'inherit', 'ipc']});
			worker.on('message', pid => {
				server.close();
				console.log(port, pid);
			});
			worker.send('server', server);
			process.on('SIGTERM', () => {
				worker.kill();
				process.exit(0);
			});
		});
	`]);
	const [output] = await once(master.stdout, 'data') as [Buffer];
	const [port, workerPid] = output.toString().trim().split(' ').map(Number);
	return {port: port!, master: master.pid!, worker: workerPid!, stop: () => master.kill()};
}

for (const [host, acceptOwners] of [['127.0.0.1', false], ['::1', false], ['127.0.0.1', true]] as const) {
	const how = acceptOwners ? 'accept() traced' : 'a socket pass';
	kernelTest(`${host}: an accepted connection is owned by the process that accepted it (${how}), not the listener's or the one on the CPU`, async t => {
		const table = new ConnectionTable();
		const kernel = new KernelSource({passIntervalMs: 40, acceptOwners});
		const passes = countingPasses(kernel);
		feedTable(passes.source, table, now, () => {});
		t.is(kernel.acceptOwners, acceptOwners, 'accept() is traced exactly when asked for');
		// The capture sees the master listen, so the listener's owner is the master.
		const server = await preforkedServer(host);
		const clients: net.Socket[] = [];
		const clientPorts: number[] = [];
		const netns = nsOfThisProcess();
		const serverSide = (port: number) => table.find({netns, laddr: host, lport: server.port, raddr: host, rport: port});
		try {
			for (let i = 0; i < 3; i++) {
				clients.push(await connectOpen(host, server.port));
				clientPorts.push(clients.at(-1)!.localPort!);
			}

			// Until the worker has accepted them all and a pass (or accept()) has said so; a
			// connection still in the accept queue is held by no process yet.
			for (let waited = 0; waited < 5000 && !clientPorts.every(port => serverSide(port)?.ownerSource !== OwnerSource.listener); waited += 50) {
				await delay(50);
			}

			await passes.after(1);
		} finally {
			await passes.source.stop();
			server.stop();
			for (const client of clients) {
				client.destroy();
			}
		}

		t.like(table.get(listenerRowKey(table, server.port)), {pid: server.master, ownerSource: OwnerSource.listen});
		for (const port of clientPorts) {
			// On loopback the server's side changes state in this process's softirq work.
			t.like(serverSide(port), {pid: server.worker, comm: 'node', ownerSource: acceptOwners ? OwnerSource.accept : OwnerSource.holder});
			const clientSide = table.find({netns, laddr: host, lport: port, raddr: host, rport: server.port});
			t.like(clientSide, {pid: process.pid, ownerSource: OwnerSource.connect});
		}
	});
}

/** The key of the listener on a port (listeners are keyed by socket, not by a tuple). */
function listenerRowKey(table: ConnectionTable, port: number): string {
	let key = '';
	table.forEach(connection => {
		if (connection.lport === port && connection.state === TcpState.LISTEN) {
			key = connection.key;
		}
	});
	return key;
}

kernelTest('with accept() traced, the kernel\'s accept records name the accepting task and the connection\'s tuple', async t => {
	const server = await serverProcess('127.0.0.1');
	let clientPort = 0;
	try {
		const capture = await captureDuring({acceptOwners: true}, async () => {
			const client = await connectOpen('127.0.0.1', server.port);
			clientPort = client.localPort!;
			await delay(100);
			client.destroy();
		});
		const accepted = capture.accepted.filter(record => record.lport === server.port);
		t.is(accepted.length, 1);
		t.like(accepted[0], {pid: server.pid, comm: 'node', laddr: '127.0.0.1', raddr: '127.0.0.1', rport: clientPort, family: 4});
	} finally {
		server.stop();
	}
});

/** The counters of the connection between two ports, as `ss -ti` shows them. */
function ssFigures(lport: number, rport: number): {bytesAcked: number; bytesReceived: number; retransmits: number} {
	const output = execFileSync('ss', ['-tinH', `( sport = :${lport} and dport = :${rport} )`], {encoding: 'utf8'});
	return {
		bytesAcked: Number(/bytes_acked:(\d+)/.exec(output)?.[1]),
		bytesReceived: Number(/bytes_received:(\d+)/.exec(output)?.[1] ?? 0),
		// retrans:unacknowledged/total, shown once there has been one.
		retransmits: Number(/retrans:\d+\/(\d+)/.exec(output)?.[1] ?? 0),
	};
}

kernelTest('a transfer of a known size shows in the counters of the next pass, as ss reports them', async t => {
	const sent = 1_000_000;
	const answered = 300_000;
	const server = net.createServer(socket => {
		let got = 0;
		socket.on('data', chunk => {
			got += chunk.length;
			if (got === sent) {
				socket.write(Buffer.alloc(answered));
			}
		});
		socket.on('error', () => {});
	}).listen(0, '127.0.0.1');
	await once(server, 'listening');
	const serverPort = (server.address() as net.AddressInfo).port;
	const passes: SocketPass[] = [];
	const source = new KernelSource({passIntervalMs: 100});
	source.start({
		pass(pass) {
			passes.push(pass);
		},
		batch() {},
		error() {},
	});
	const client = await connectOpen('127.0.0.1', serverPort);
	try {
		let got = 0;
		client.write(Buffer.alloc(sent));
		await new Promise<void>(resolve => {
			client.on('data', chunk => {
				got += chunk.length;
				if (got === answered) {
					resolve();
				}
			});
		});
		// A complete pass lists every socket; the first delivered may have started before the transfer ended.
		const passesBefore = passes.length;
		const completeAfter = () => passes.slice(passesBefore + 1).find(pass => pass.complete);
		while (!completeAfter()) {
			await delay(20);
		}

		const last = completeAfter()!.sockets;
		const clientSide = last.find(socket => socket.lport === client.localPort && socket.rport === serverPort);
		const serverSide = last.find(socket => socket.lport === serverPort && socket.rport === client.localPort);
		// The SYN counts in the connecting side's bytes_acked, as in ss.
		t.like(clientSide?.figures, {bytesAcked: sent + 1, bytesReceived: answered});
		t.like(serverSide?.figures, {bytesAcked: answered, bytesReceived: sent});
		t.true(clientSide!.figures!.srttUs > 0);
		const listener = last.find(socket => socket.lport === serverPort && socket.state === TcpState.LISTEN);
		t.truthy(listener);
		t.is(listener!.figures, undefined, 'a listener has nothing to count');
		const counters = ({bytesAcked, bytesReceived, retransmits}: SocketFigures) => ({bytesAcked, bytesReceived, retransmits});
		const clientCounters = counters(clientSide!.figures!);
		const serverCounters = counters(serverSide!.figures!);
		t.deepEqual(ssFigures(client.localPort!, serverPort), clientCounters);
		t.deepEqual(ssFigures(serverPort, client.localPort!), serverCounters);
	} finally {
		await source.stop();
		client.destroy();
		server.close();
	}
});

kernelTest('a counters pass lists only the connections whose counters changed since the pass before', async t => {
	const server = net.createServer(socket => {
		socket.on('data', chunk => socket.write(chunk));
		socket.on('error', () => {});
	}).listen(0, '127.0.0.1');
	await once(server, 'listening');
	const serverPort = (server.address() as net.AddressInfo).port;
	const busy = await connectOpen('127.0.0.1', serverPort);
	const idle = await connectOpen('127.0.0.1', serverPort);
	const passes: SocketPass[] = [];
	const source = new KernelSource({passIntervalMs: 50});
	source.start({
		pass(pass) {
			passes.push(pass);
		},
		batch() {},
		error() {},
	});
	const lists = (pass: SocketPass, client: net.Socket) => pass.sockets.some(socket => socket.lport === client.localPort && socket.rport === serverPort);
	const countersPasses = (from: number) => passes.slice(from).filter(pass => !pass.complete && !pass.listenersOnly);
	const until = async (test: () => boolean) => {
		while (!test()) {
			await delay(20);
		}
	};

	try {
		// A complete pass sends every connection as it is.
		await until(() => passes.some(pass => pass.complete));
		const sent = passes.findIndex(pass => pass.complete) + 1;
		t.true(lists(passes[sent - 1]!, busy) && lists(passes[sent - 1]!, idle), 'a complete pass lists both');
		let echoed = 0;
		busy.on('data', chunk => {
			echoed += chunk.length;
		});
		busy.write(Buffer.alloc(10_000));
		await until(() => echoed === 10_000);
		const quiet = passes.length;
		await until(() => countersPasses(quiet).length >= 3);
		t.true(countersPasses(sent).some(pass => lists(pass, busy)), 'the connection that sent is listed once it has');
		t.false(lists(countersPasses(quiet).at(-1)!, busy), 'and no longer once it is quiet again');
		t.false(countersPasses(sent).some(pass => lists(pass, idle)), 'the idle connection is never listed');
		const counted = countersPasses(quiet).at(-1)!.counts!.find(({netns}) => netns === nsOfThisProcess())!.states[TcpState.ESTABLISHED]!;
		t.true(counted >= 4, `both ends of both connections are still counted (${counted} ESTABLISHED)`);
	} finally {
		await source.stop();
		busy.destroy();
		idle.destroy();
		server.close();
	}
});

kernelTest('connects stuck in SYN_SENT get their local ports from the passes, as ss shows them', async t => {
	// A listener whose accept queue is full (backlog 1, never accepting: its process is
	// blocked): further SYNs are dropped and the connects keep retrying in SYN_SENT.
	const listener = spawn(process.execPath, ['-e', `
		const server = require('node:net').createServer().listen({port: 0, host: '127.0.0.1', backlog: 1}, () => {
			process.stdout.write(server.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
		});`], {stdio: ['ignore', 'pipe', 'inherit']});
	const [line] = await once(listener.stdout.setEncoding('utf8'), 'data') as [string];
	const port = Number(line.trim());
	const table = new ConnectionTable();
	const passes = countingPasses(new KernelSource({passIntervalMs: 50}));
	feedTable(passes.source, table, now, () => {});
	const clients = Array.from({length: 6}, () => net.connect(port, '127.0.0.1').on('error', () => {}));
	try {
		const stuck = await ssLocalPortsInState('syn-sent', port, 3, 5000);

		t.true(stuck.length >= 3, `${stuck.length} connects stuck in SYN-SENT`);
		await passes.after(1);
		const netns = nsOfThisProcess();
		for (const lport of stuck) {
			const row = table.find({netns, laddr: '127.0.0.1', lport, raddr: '127.0.0.1', rport: port});
			t.is(row?.state, TcpState.SYN_SENT, `the connect from port ${lport}`);
			t.is(row?.pid, process.pid, 'its owner is the connecting process');
		}
	} finally {
		await passes.source.stop();
		for (const client of clients) {
			client.destroy();
		}

		listener.kill('SIGKILL');
	}
});

/**
 * A server that keeps its end of each connection open when the client closes (allowHalfOpen):
 * the kernel keeps each closed client as a timewait socket in sub-state FIN_WAIT2 until its
 * peer closes or tcp_fin_timeout ends.
 */
async function halfOpenServer(): Promise<{port: number; close(): void}> {
	const held: net.Socket[] = [];
	const server = net.createServer({allowHalfOpen: true}, socket => {
		held.push(socket.on('error', () => {}).resume());
	}).listen(0, '127.0.0.1');
	await once(server, 'listening');
	return {
		port: (server.address() as net.AddressInfo).port,
		close() {
			for (const socket of held) {
				socket.destroy();
			}

			server.close();
		},
	};
}

kernelTest('an orphaned FIN_WAIT2 (closed, its peer still open) shows as FIN_WAIT2, as ss lists it', async t => {
	const server = await halfOpenServer();
	const {port} = server;
	for (let index = 0; index < 3; index++) {
		(await connectOpen('127.0.0.1', port)).destroy();
	}

	const orphans = await ssLocalPortsInState('fin-wait-2', port, 3, 3000);

	t.is(orphans.length, 3, 'ss lists three FIN-WAIT-2');
	const table = new ConnectionTable();
	const source = new KernelSource();
	let counted: readonly number[] | undefined;
	feedTable({
		start(handlers) {
			source.start({...handlers, snapshot(pass) {
				counted = pass.counts?.find(({netns}) => netns === nsOfThisProcess())?.states;
				handlers.snapshot!(pass);
			}});
		},
		stop: async () => source.stop(),
	}, table, now, () => {});
	try {
		const netns = nsOfThisProcess();
		for (const lport of orphans) {
			t.is(table.find({netns, laddr: '127.0.0.1', lport, raddr: '127.0.0.1', rport: port})?.state, TcpState.FIN_WAIT2, `the client from port ${lport}`);
		}

		t.true(counted![TcpState.FIN_WAIT2]! >= 3, `${counted![TcpState.FIN_WAIT2]} FIN_WAIT2 counted on the host`);
	} finally {
		await source.stop();
		server.close();
	}
});

kernelTest('live: closed while the peer stays open is an orphan in FIN_WAIT2, as ss lists it, from the changes alone', async t => {
	const server = await halfOpenServer();
	const {port} = server;
	// No socket passes: what the table shows comes from the changes the kernel reported.
	const table = new ConnectionTable();
	const source = new KernelSource();
	let failure: Error | undefined;
	feedTable(source, table, now, error => {
		failure = error;
	});
	const row = (lport: number) => table.find({netns: nsOfThisProcess(), laddr: '127.0.0.1', lport, raddr: '127.0.0.1', rport: port});
	try {
		for (let index = 0; index < 3; index++) {
			(await connectOpen('127.0.0.1', port)).destroy();
		}

		const orphans = await ssLocalPortsInState('fin-wait-2', port, 3, 3000);
		t.is(orphans.length, 3, 'ss lists three FIN-WAIT-2');
		for (let waited = 0; orphans.some(lport => row(lport)?.state !== TcpState.FIN_WAIT2) && waited < 2000; waited += 20) {
			await delay(20);
		}

		for (const lport of orphans) {
			t.like(row(lport), {state: TcpState.FIN_WAIT2, ending: Ending.orphaned, pid: process.pid}, `the client from port ${lport}`);
		}

		t.true(table.countInState(TcpState.FIN_WAIT2) >= 3);
	} finally {
		await source.stop();
		server.close();
	}

	t.is(failure, undefined);
});

function nsOfThisProcess(): number {
	return statSync('/proc/self/ns/net').ino;
}
