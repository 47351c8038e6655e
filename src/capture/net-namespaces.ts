// Network namespaces by the names `ip netns` gives them: a namespace file bind-mounted at
// /run/netns/<name>, whose inode is the namespace's (what records carry as netns).
import {readdirSync, readlinkSync, statSync} from 'node:fs';

/** The inode of the namespace named `name` in /run/netns, or undefined when there is none. */
export function namedNamespaceInode(name: string): number | undefined {
	if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
		return undefined;
	}

	try {
		const found = statSync(`/run/netns/${name}`, {throwIfNoEntry: false});
		// A name whose mount is gone is an empty file of /run's file system: namespaces are nsfs's.
		return found && found.dev === statSync('/proc/self/ns/net').dev ? found.ino : undefined;
	} catch {
		return undefined;
	}
}

/** Whether process `pid` (a /proc entry) is in the network namespace of this inode. */
export function inNetNamespace(pid: string, inode: number): boolean {
	try {
		return readlinkSync(`/proc/${pid}/ns/net`) === `net:[${inode}]`;
	} catch {
		return false; // exited meanwhile, or out of reach
	}
}

/** A process in the network namespace of this inode (its /proc entry), if there is one. */
export function processInNetNamespace(inode: number): string | undefined {
	return readdirSync('/proc').find(entry => /^\d+$/.test(entry) && inNetNamespace(entry, inode));
}

/** Whether a network namespace of this inode exists: a process is in it, or /run/netns names it. */
export function netNamespaceExists(inode: number): boolean {
	if (processInNetNamespace(inode) !== undefined) {
		return true;
	}

	let names: string[] = [];
	try {
		names = readdirSync('/run/netns');
	} catch {
		// No namespace was ever named.
	}

	return names.some(name => namedNamespaceInode(name) === inode);
}

/** How long the names read from /run/netns are used before they are read again. */
const namesValidMs = 2000;

/**
 * Names for namespace inodes: `ip netns`'s (/run/netns), and "host" for the namespace of
 * process 1. Read again at most every two seconds, as namespaces come and go.
 */
export function namespaceNamer(now = () => performance.now()): (inode: number) => string | undefined {
	let names = new Map<number, string>();
	let readAtMs = Number.NEGATIVE_INFINITY;
	return inode => {
		if (now() - readAtMs >= namesValidMs) {
			readAtMs = now();
			names = new Map();
			try {
				names.set(statSync('/proc/1/ns/net').ino, 'host');
			} catch {
				// Another process's namespace can be out of reach.
			}

			let entries: string[] = [];
			try {
				entries = readdirSync('/run/netns');
			} catch {
				// No namespace was ever named.
			}

			for (const name of entries) {
				const named = namedNamespaceInode(name);
				if (named !== undefined) {
					names.set(named, name);
				}
			}
		}

		return names.get(inode);
	};
}
