import {constants} from 'node:os';

const names = new Map<number, string>(Object.entries(constants.errno).map(([name, number]) => [number, name]));

/** "EINTR" for 4, "errno 999" for a number Node does not name. */
export function errnoName(errno: number): string {
	return names.get(errno) ?? `errno ${errno}`;
}
