// Loopback servers and clients whose sockets go through known TCP lifecycles.
import net from 'node:net';
import {once} from 'node:events';
import {setTimeout} from 'node:timers/promises';

export type Server = {
	port: number;
	/** Resolves when every accepted socket has closed. */
	settled(): Promise<void>;
	close(): Promise<void>;
};

/**
 * A server that lets the client close first: it reads until the client's FIN, then closes
 * its side (ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSE).
 */
export async function listen(host: string, onSocket: (socket: net.Socket) => void = () => {}): Promise<Server> {
	const open = new Set<Promise<unknown>>();
	const server = net.createServer(socket => {
		socket.on('error', () => {});
		socket.resume();
		// Not events.once: that rejects on the 'error' a reset brings, and the close still comes.
		const closed = new Promise(resolve => socket.on('close', resolve));
		open.add(closed);
		void closed.then(() => open.delete(closed));
		onSocket(socket);
	});
	server.listen(0, host);
	await once(server, 'listening');
	return {
		port: (server.address() as net.AddressInfo).port,
		async settled() {
			while (open.size > 0) {
				await Promise.all(open);
			}
		},
		async close() {
			server.close();
			await once(server, 'close');
		},
	};
}

/** Connects, then closes first and waits for the whole close. Returns the local port used. */
export async function connectAndClose(host: string, port: number): Promise<number> {
	const socket = net.connect(port, host);
	await once(socket, 'connect');
	const localPort = socket.localPort!;
	socket.resume();
	socket.end();
	await once(socket, 'close');
	return localPort;
}

/** Connects, then aborts with a reset (SO_LINGER 0). Returns the local port used. */
export async function connectAndReset(host: string, port: number): Promise<number> {
	const socket = net.connect(port, host);
	await once(socket, 'connect');
	const localPort = socket.localPort!;
	socket.resetAndDestroy();
	await once(socket, 'close');
	return localPort;
}

/** A port with nothing listening on it (bound for a moment, then released). */
export async function closedPort(host: string): Promise<number> {
	const server = net.createServer().listen(0, host);
	await once(server, 'listening');
	const {port} = server.address() as net.AddressInfo;
	server.close();
	await once(server, 'close');
	return port;
}

/** Expects the connect to be refused. */
export async function connectRefused(host: string, port: number): Promise<void> {
	const socket = net.connect(port, host);
	const [error] = await once(socket, 'error') as [NodeJS.ErrnoException];
	if (error.code !== 'ECONNREFUSED') {
		throw error;
	}
}

/** Runs `count` calls of `job`, `parallel` at a time. */
export async function inParallel(count: number, parallel: number, job: (index: number) => Promise<unknown>): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < count) {
			await job(next++);
		}
	};

	await Promise.all(Array.from({length: parallel}, worker));
}

/** Connects and leaves the connection open. */
export async function connectOpen(host: string, port: number): Promise<net.Socket> {
	const socket = net.connect(port, host);
	socket.on('error', () => {});
	await once(socket, 'connect');
	return socket;
}

/**
 * Loopback sockets in the states a sick host piles up, on three listeners of their own:
 * established pairs, a CLOSE_WAIT pile-up (a server that never closes what its clients
 * closed: its side in CLOSE_WAIT, the clients' in FIN_WAIT2), and TIME_WAIT leftovers
 * (connections the client closed first). add() makes more of each.
 */
export type SocketMix = {
	/** The listeners' ports: all of them, then each. */
	readonly ports: ReadonlySet<number>;
	readonly established: number;
	readonly leaky: number;
	readonly finished: number;
	/**
	 * Whether a socket is one of the mix's: between a listener and a client the mix made.
	 * (Other tests' sockets, TIME_WAITs above all, can have a listener's port number.)
	 */
	readonly owns: (lport: number, rport: number) => boolean;
	add(counts: {established?: number; closeWait?: number; timeWait?: number}): Promise<void>;
	/** Closes `count` established pairs from the client side (client to TIME_WAIT). */
	finishEstablished(count: number): Promise<void>;
	close(): Promise<void>;
};

export async function openSocketMix(host: string, counts: {established: number; closeWait: number; timeWait: number}): Promise<SocketMix> {
	const sockets: net.Socket[] = [];
	const clients: net.Socket[] = [];
	const clientPorts = new Set<number>();
	const established = await listen(host, socket => sockets.push(socket));
	const leaky = net.createServer({allowHalfOpen: true}, socket => {
		socket.on('error', () => {});
		sockets.push(socket);
	}).listen(0, host);
	await once(leaky, 'listening');
	const leakyPort = (leaky.address() as net.AddressInfo).port;
	const finished = await listen(host);
	const ports = new Set([established.port, leakyPort, finished.port]);
	const mix: SocketMix = {
		ports,
		established: established.port,
		leaky: leakyPort,
		finished: finished.port,
		owns: (lport, rport) => (ports.has(lport) && (rport === 0 || clientPorts.has(rport))) || (clientPorts.has(lport) && ports.has(rport)),
		async add({established: open = 0, closeWait = 0, timeWait = 0}) {
			const opened = await Promise.all(Array.from({length: open}, async () => connectOpen(host, established.port)));
			clients.push(...opened);
			const leakers = await Promise.all(Array.from({length: closeWait}, async () => connectOpen(host, leakyPort)));
			sockets.push(...leakers);
			for (const client of [...opened, ...leakers]) {
				clientPorts.add(client.localPort!);
			}

			for (const client of leakers) {
				client.end();
			}

			for (let i = 0; i < timeWait; i++) {
				clientPorts.add(await connectAndClose(host, finished.port));
			}

			await finished.settled();
			await setTimeout(100); // the leaky server's sockets reach CLOSE_WAIT
		},
		async finishEstablished(count) {
			for (const client of clients.splice(0, count)) {
				client.end();
				await once(client, 'close');
			}

			await setTimeout(100); // the server side's LAST_ACK -> CLOSE
		},
		async close() {
			for (const socket of [...clients, ...sockets]) {
				socket.destroy();
			}

			leaky.close();
			await Promise.all([established.close(), finished.close()]);
		},
	};
	await mix.add(counts);
	return mix;
}

/** The usual mix: 5 established pairs, 7 CLOSE_WAIT with their FIN_WAIT2 clients, 3 TIME_WAIT. */
export async function buildLandscape(host: string): Promise<SocketMix> {
	return openSocketMix(host, {established: 5, closeWait: 7, timeWait: 3});
}

/** What buildLandscape's mix holds, by kernel state name, counting its 3 listeners. */
export const landscapeCounts: ReadonlyArray<[string, number]> = [
	['CLOSE_WAIT', 7], ['ESTABLISHED', 10], ['FIN_WAIT2', 7], ['LISTEN', 3], ['TIME_WAIT', 3],
];

/** A loopback server and `count` clients connected to it, all closed when the test ends. */
export async function serverWithClients(t: {teardown(fn: () => Promise<void>): void}, host: string, count: number): Promise<{server: Server; clients: net.Socket[]}> {
	const server = await listen(host);
	const clients: net.Socket[] = [];
	t.teardown(async () => {
		for (const client of clients) {
			client.destroy();
		}

		await server.close();
	});
	for (let index = 0; index < count; index++) {
		clients.push(await connectOpen(host, server.port));
	}

	return {server, clients};
}
