// Control groups, as the people who run containers know them: a process's cgroup (from
// /proc/PID/cgroup) and what it says about who the process is (a container's id, a pod's,
// a systemd unit), on cgroup v2 and on a hybrid hierarchy (v1 controllers beside v2).
import {readdirSync, readFileSync, statSync, type Dirent} from 'node:fs';

/** What a cgroup path says about whom it holds. */
export type CgroupIdentity = {
	/**
	 * The container's id, cut to 12 characters as docker ps shows it; for a systemd unit
	 * outside any container, the unit's name (`nginx.service`); else undefined.
	 */
	readonly container?: string;
	/** A Kubernetes pod's UID, when the path is under kubepods. */
	readonly pod?: string;
};

// Container runtimes' scopes (systemd cgroup driver) and directories (cgroupfs driver):
// docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope,
// /docker/<id>, /<pod dir>/<id>. An id is 64 hexadecimal digits.
const runtimeScope = /(?:^|\/)(?:docker|cri-containerd|crio|libpod)-([\da-f]{64})\.scope(?:\/|$)/;
const bareId = /\/([\da-f]{64})(?:\/|$)/;
// kubepods-burstable-pod<uid>.slice (dashes of the UID as underscores) or /kubepods/burstable/pod<uid>/.
const kubePod = /(?:^|[/-])pod([\da-f]{8}[-_][\da-f]{4}[-_][\da-f]{4}[-_][\da-f]{4}[-_][\da-f]{12})(?:\.slice)?(?:\/|$)/;
const systemdUnit = /\/([^/]+\.(?:service|scope|socket|mount|swap|slice))$/;

/** Who a cgroup path holds: a container (and pod), or a systemd unit. */
export function describeCgroup(path: string): CgroupIdentity {
	const pod = path.includes('kubepods') ? kubePod.exec(path)?.[1]?.replaceAll('_', '-') : undefined;
	const id = runtimeScope.exec(path)?.[1] ?? bareId.exec(path)?.[1];
	if (id !== undefined) {
		return {container: id.slice(0, 12), ...(pod === undefined ? {} : {pod})};
	}

	if (pod !== undefined) {
		return {pod};
	}

	const unit = systemdUnit.exec(path)?.[1];
	// A slice groups units (user.slice, system.slice): no one process's identity.
	return unit === undefined || unit.endsWith('.slice') ? {} : {container: unit};
}

/**
 * A process's cgroup path from /proc/PID/cgroup's text: the unified (v2) hierarchy's, unless
 * that says nothing and a v1 hierarchy's says more (on a hybrid host, a container runtime on
 * the v1 driver places its containers in the v1 controllers and name=systemd only). Undefined
 * for the root alone.
 */
export function cgroupFromProcFile(text: string): string | undefined {
	const paths: string[] = [];
	let unified: string | undefined;
	for (const line of text.split('\n')) {
		// hierarchy-ID:controller-list:path; the path may hold colons.
		const first = line.indexOf(':');
		const second = line.indexOf(':', first + 1);
		if (first < 0 || second < 0) {
			continue;
		}

		const path = line.slice(second + 1);
		if (line.slice(0, second) === '0:') {
			unified = path;
		} else if (path !== '/') {
			paths.push(path);
		}
	}

	const telling = (path: string | undefined) => path !== undefined && path !== '/' && describeCgroup(path).container !== undefined;
	if (telling(unified)) {
		return unified;
	}

	const v1 = paths.find(path => telling(path));
	if (v1 !== undefined) {
		return v1;
	}

	return unified !== undefined && unified !== '/' ? unified : paths[0];
}

/** How long a process's cgroup is taken as known (a pid can be reused, a process moved). */
const knownForMs = 5000;

/**
 * A process's cgroup path, read from /proc and kept a few seconds per pid: undefined when the
 * process is gone or sits at the root.
 */
export function processCgroups(now = () => performance.now()): (pid: number) => string | undefined {
	const known = new Map<number, {path: string | undefined; atMs: number}>();
	return pid => {
		if (pid === 0) {
			return undefined;
		}

		const entry = known.get(pid);
		if (entry && now() - entry.atMs < knownForMs) {
			return entry.path;
		}

		let path: string | undefined;
		try {
			path = cgroupFromProcFile(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
		} catch {
			// Gone already: what was known of it stays the best guess.
			path = entry?.path;
		}

		if (known.size >= 65_536) {
			known.clear();
		}

		known.set(pid, {path, atMs: now()});
		return path;
	};
}

/** Where the unified (v2) hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host). */
function unifiedMount(): string | undefined {
	try {
		for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
			// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
			const [fields, rest] = line.split(' - ');
			if (rest?.startsWith('cgroup2 ') && fields!.split(' ')[3] === '/') {
				return fields!.split(' ')[4];
			}
		}
	} catch {
		// No /proc.
	}

	return undefined;
}

/** How often at most the hierarchy is walked again for an id it did not hold. */
const rewalkAfterMs = 5000;

/**
 * Control group paths by the kernel's id for them (what a socket records: the cgroup
 * directory's inode in the unified hierarchy), from a walk of that hierarchy, walked again
 * for an unknown id at most every five seconds. The root says nothing: undefined.
 */
export function cgroupPaths(now = () => performance.now()): (id: number) => string | undefined {
	const mount = unifiedMount();
	let paths = new Map<number, string>();
	let walkedAtMs = Number.NEGATIVE_INFINITY;
	const walk = () => {
		walkedAtMs = now();
		paths = new Map();
		const pending = [''];
		while (pending.length > 0 && paths.size < 100_000) {
			const path = pending.pop()!;
			let entries: Dirent[];
			try {
				entries = readdirSync(`${mount}${path}`, {withFileTypes: true});
			} catch {
				continue; // removed meanwhile
			}

			for (const entry of entries) {
				if (entry.isDirectory()) {
					const child = `${path}/${entry.name}`;
					try {
						paths.set(statSync(`${mount}${child}`).ino, child);
					} catch {
						continue;
					}

					pending.push(child);
				}
			}
		}
	};

	return id => {
		if (mount === undefined) {
			return undefined;
		}

		if (!paths.has(id) && now() - walkedAtMs >= rewalkAfterMs) {
			walk();
		}

		return paths.get(id);
	};
}
