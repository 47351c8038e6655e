// Connection identity: network namespace + 4-tuple, as one flat string.
//
// A string is the cheapest key lru-cache can hash that holds a 4-tuple (128+ bits do not fit
// in a number), and the addresses are stored only here: the table derives laddr/raddr from the
// key on demand instead of keeping a second copy per connection.
//
// Layout: "<laddr> <lport> <raddr> <rport> <netns>[ <tag>]". The tag tells apart sockets that
// share a tuple: "L<sock>" for listeners (SO_REUSEPORT lets several listen on one tuple) and
// "S<sock>" for a connect whose local port the kernel has not chosen yet.

export type Tuple = {
	readonly netns: number;
	readonly laddr: string;
	readonly lport: number;
	readonly raddr: string;
	readonly rport: number;
};

export function connectionKey(tuple: Tuple): string {
	return `${tuple.laddr} ${tuple.lport} ${tuple.raddr} ${tuple.rport} ${tuple.netns}`;
}

export function listenerKey(tuple: Tuple, sock: number): string {
	return `${connectionKey(tuple)} L${sock}`;
}

export function pendingConnectKey(tuple: Tuple, sock: number): string {
	return `${connectionKey(tuple)} S${sock}`;
}

/** The socket identity in a pending-connect key; undefined for any other key. */
export function pendingSockOf(key: string): number | undefined {
	const tag = key.lastIndexOf(' S');
	return tag === -1 ? undefined : Number(key.slice(tag + 2));
}

/**
 * Returns key after making it one flat string. Template literals build a tree of string pieces;
 * reading a character makes V8 flatten it in place, and a stored key kept as a tree costs about
 * three times the memory of the flat string.
 */
export function flatKey(key: string): string {
	key.charCodeAt(0);
	return key;
}

export function localAddressOf(key: string): string {
	return key.slice(0, key.indexOf(' '));
}

export function remoteAddressOf(key: string): string {
	const start = remoteAddressOffset(key);
	return key.slice(start, key.indexOf(' ', start));
}

/** Where the remote address starts in a key (the local one starts at 0); both end at a space. */
export function remoteAddressOffset(key: string): number {
	return key.indexOf(' ', key.indexOf(' ') + 1) + 1;
}
