// Holds COUNT loopback connections open (both ends in this process: 2 x COUNT sockets plus a
// listener), so a benchmark of the live view sees a host with that many established
// connections, whatever else the machine is doing. Prints "ready" once all are up; runs until
// killed. The caller raises the open-file limit (2 x COUNT + a few descriptors).
//
//   node --import=tsx bench/hold-connections.ts COUNT
import net from 'node:net';
import {once} from 'node:events';

const count = Number(process.argv[2] ?? 2000);
const accepted: net.Socket[] = [];
const server = net.createServer(socket => {
	accepted.push(socket);
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const {port} = server.address() as net.AddressInfo;
const clients: net.Socket[] = [];
// A few at a time, so the listener's backlog never overflows.
for (let index = 0; index < count; index += 100) {
	const batch = [];
	for (let one = index; one < Math.min(count, index + 100); one++) {
		const client = net.connect(port, '127.0.0.1');
		clients.push(client);
		batch.push(once(client, 'connect'));
	}

	await Promise.all(batch);
}

while (accepted.length < count) {
	await new Promise(resolve => setTimeout(resolve, 10));
}

console.log('ready');
setInterval(() => {}, 60_000);
