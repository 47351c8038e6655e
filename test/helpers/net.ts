// Loopback servers and clients whose sockets go through known TCP lifecycles.
import net from 'node:net';
import {once} from 'node:events';

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

/** Sockets in known states on ports of their own, for tests of what tcptop finds at start-up. */
export type Landscape = {
	/** 5 client/server pairs, ESTABLISHED both ends. */
	established: number;
	/** A server that never closes what its 7 clients closed: 7 CLOSE_WAIT, 7 FIN_WAIT2. */
	leaky: number;
	/** 3 connections the client closed first: 3 TIME_WAIT. */
	finished: number;
	ports: ReadonlySet<number>;
	/**
	 * Whether a socket with these ports is one the landscape made (a listener's remote port
	 * is 0). Other sockets can have its port numbers: TIME_WAITs left by earlier connections
	 * whose client port was the one a listener took since.
	 */
	owns(lport: number, rport: number): boolean;
	close(): Promise<void>;
};

/** What a landscape holds, by kernel state name, counting the 3 listeners. */
export const landscapeCounts: ReadonlyArray<[string, number]> = [
	['CLOSE_WAIT', 7], ['ESTABLISHED', 10], ['FIN_WAIT2', 7], ['LISTEN', 3], ['TIME_WAIT', 3],
];

export async function buildLandscape(host: string): Promise<Landscape> {
	const held: net.Socket[] = [];
	const established = await listen(host, socket => held.push(socket));
	const leaky = net.createServer({allowHalfOpen: true}, socket => {
		socket.on('error', () => {});
		held.push(socket);
	}).listen(0, host);
	await once(leaky, 'listening');
	const leakyPort = (leaky.address() as net.AddressInfo).port;
	const finished = await listen(host);
	const pairs = new Set<string>();
	const made = (clientPort: number, serverPort: number) => {
		pairs.add(`${clientPort} ${serverPort}`);
		pairs.add(`${serverPort} ${clientPort}`);
	};

	const connect = async (port: number) => {
		const socket = net.connect(port, host);
		socket.on('error', () => {});
		await once(socket, 'connect');
		held.push(socket);
		made(socket.localPort!, port);
		return socket;
	};

	await Promise.all(Array.from({length: 5}, async () => connect(established.port)));
	for (const client of await Promise.all(Array.from({length: 7}, async () => connect(leakyPort)))) {
		client.end();
	}

	for (let i = 0; i < 3; i++) {
		made(await connectAndClose(host, finished.port), finished.port);
	}

	await finished.settled();
	await new Promise(resolve => setTimeout(resolve, 100)); // the leaky server's sockets reach CLOSE_WAIT
	for (const port of [established.port, leakyPort, finished.port]) {
		pairs.add(`${port} 0`);
	}

	return {
		established: established.port,
		leaky: leakyPort,
		finished: finished.port,
		ports: new Set([established.port, leakyPort, finished.port]),
		owns: (lport, rport) => pairs.has(`${lport} ${rport}`),
		async close() {
			for (const socket of held) {
				socket.destroy();
			}

			leaky.close();
			await Promise.all([established.close(), finished.close()]);
		},
	};
}
