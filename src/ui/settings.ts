// The view's settings, as the setup screen (F2) edits them and `tcptoprc` keeps them, as htop
// keeps htoprc: $XDG_CONFIG_HOME/tcptop/tcptoprc (~/.config/tcptop/tcptoprc), `name=value`
// lines. A file that cannot be read as such gives a warning and the defaults for what it got
// wrong; options on the command line win over it.
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs';
import {homedir} from 'node:os';
import {dirname, join} from 'node:path';
import {columns} from '../model/columns.js';
import {groupKindByKey, type GroupKindKey} from '../model/groups.js';
import {sortOrderByKey, troubleOrder} from '../model/sort-orders.js';

export type Settings = {
	/** The connection list's columns, in order (keys of model/columns.ts). */
	readonly columns: readonly string[];
	readonly delaySeconds: number;
	readonly sortKey: string;
	readonly groupBy: GroupKindKey | undefined;
	readonly color: boolean;
};

export const defaultSettings: Settings = {
	columns: columns.map(column => column.key),
	delaySeconds: 1,
	sortKey: troubleOrder.key,
	groupBy: undefined,
	color: true,
};

/** The refresh intervals the setup screen steps through. */
export const delayChoices: readonly number[] = [0.5, 1, 2, 3, 5, 10];

/** Where the settings are kept. */
export function settingsPath(env: NodeJS.ProcessEnv = process.env): string {
	const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
	return join(base, 'tcptop', 'tcptoprc');
}

/** Settings from a file's text: each line it got wrong is a problem, and leaves that setting at its default. */
export function parseSettings(text: string): {settings: Settings; problems: string[]} {
	const problems: string[] = [];
	const settings: {-readonly [K in keyof Settings]: Settings[K]} = {...defaultSettings};
	for (const [index, raw] of text.split('\n').entries()) {
		const line = raw.trim();
		if (line === '' || line.startsWith('#')) {
			continue;
		}

		const equals = line.indexOf('=');
		const name = equals === -1 ? line : line.slice(0, equals).trim();
		const value = equals === -1 ? '' : line.slice(equals + 1).trim();
		const wrong = (why: string) => problems.push(`line ${index + 1}: ${why}`);
		switch (name) {
			case 'columns': {
				const keys = value.split(',').map(key => key.trim()).filter(Boolean);
				const unknown = keys.filter(key => !columns.some(column => column.key === key));
				if (keys.length === 0 || unknown.length > 0) {
					wrong(`columns: ${unknown.length > 0 ? `no column ${unknown.join(', ')}` : 'none given'}`);
				} else {
					settings.columns = [...new Set(keys)];
				}

				break;
			}

			case 'delay': {
				const seconds = Number(value);
				if (value === '' || !Number.isFinite(seconds) || seconds < 0.1 || seconds > 3600) {
					wrong(`delay: '${value}' is not a number of seconds from 0.1 to 3600`);
				} else {
					settings.delaySeconds = seconds;
				}

				break;
			}

			case 'sort': {
				if (sortOrderByKey(value)) {
					settings.sortKey = value;
				} else {
					wrong(`sort: no order '${value}'`);
				}

				break;
			}

			case 'group_by': {
				if (value === 'none') {
					settings.groupBy = undefined;
				} else if (groupKindByKey(value)) {
					settings.groupBy = value as GroupKindKey;
				} else {
					wrong(`group_by: no grouping '${value}'`);
				}

				break;
			}

			case 'color': {
				if (value === 'true' || value === 'false') {
					settings.color = value === 'true';
				} else {
					wrong(`color: '${value}' is not true or false`);
				}

				break;
			}

			default: {
				wrong(`unknown setting '${name}'`);
			}
		}
	}

	return {settings, problems};
}

export function formatSettings(settings: Settings): string {
	return [
		'# tcptop\'s settings, as the setup screen (F2) saved them; options on the command line win.',
		`columns=${settings.columns.join(',')}`,
		`delay=${settings.delaySeconds}`,
		`sort=${settings.sortKey}`,
		`group_by=${settings.groupBy ?? 'none'}`,
		`color=${settings.color}`,
		'',
	].join('\n');
}

/** The saved settings, or the defaults when there are none; `warn` hears what was wrong with the file. */
export function loadSettings(warn: (message: string) => void, path = settingsPath()): Settings {
	let text: string;
	try {
		text = readFileSync(path, 'utf8');
	} catch (error) {
		// None there, or a home that is not this user's (sudo -u keeps HOME): no settings, quietly.
		const {code} = error as NodeJS.ErrnoException;
		if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES') {
			warn(`cannot read ${path} (${(error as Error).message}); the default settings are used`);
		}

		return defaultSettings;
	}

	const {settings, problems} = parseSettings(text);
	if (problems.length > 0) {
		warn(`${path}: ${problems.join('; ')}; the defaults are used for those`);
	}

	return settings;
}

/** Writes the settings whole (a file beside it, then renamed over it); throws what went wrong. */
export function saveSettings(settings: Settings, path = settingsPath()): void {
	mkdirSync(dirname(path), {recursive: true});
	const partial = `${path}.${process.pid}`;
	writeFileSync(partial, formatSettings(settings));
	renameSync(partial, path);
}
