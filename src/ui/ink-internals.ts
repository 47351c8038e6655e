// The one place that knows which of Ink's internals tcptop uses, and whether it may. The view
// reaches past Ink's public API in four places, each written and checked against one Ink
// release (`inkVersion`, the version package.json pins):
//
// - fastOutput (src/ui/fast-output.ts): Ink's private `Output` class gets a faster `get`.
// - textCache (src/ui/ink-text-cache.ts): the Map in which Ink's measure-text.js keeps the
//   size of every text it laid out, never emptied, gets a bound.
// - inputEvents (src/ui/use-keys.ts): keys are read from the stdin context's
//   `internal_eventEmitter`, which carries Ink's input already split into key sequences.
// - frameWriter (src/ui/run-view.tsx, src/ui/frame-writer.ts): Ink renders in its debug mode,
//   where it writes each whole frame in one write and nothing else, into FrameWriter.
//
// `inkInternals()` looks for each once: the installed Ink's version, then (on that release
// only) each internal, tried on a probe (an Output that draws two characters, a text measured,
// a component rendered in debug mode into a fake terminal with a key pressed). A workaround is
// active when the version is the one it was written for and its probe came out as expected;
// otherwise that part of the view uses Ink's public behaviour: Ink's own output step (slower),
// its own unbounded cache (the heap grows while the view runs), keys from the stdin stream's
// `data` events (split by tcptop as Ink splits them), its standard rendering (whole frames).
import {EventEmitter} from 'node:events';
import type {StdinProps} from 'ink';
import {inkPackageVersion, inkPrivateModule} from './ink-modules.js';

/** The Ink release the workarounds were written and checked against. */
export const inkVersion = '6.8.0';

/** The view's four uses of Ink's internals (see above). */
export type WorkaroundName = 'fastOutput' | 'textCache' | 'inputEvents' | 'frameWriter';

/** The workarounds in the order `--debug` names them. */
export const workaroundNames: readonly WorkaroundName[] = ['fastOutput', 'textCache', 'inputEvents', 'frameWriter'];

/** What was found of Ink: the inputs of `decideWorkarounds`. */
export type InkFacts = {
	/** The installed Ink's version; undefined when its package.json could not be read. */
	readonly version: string | undefined;
	/**
	 * For each workaround, what is missing or behaved otherwise than expected; undefined when its
	 * internal was found and its probe came out as expected (or when it was not looked for).
	 */
	readonly missing: Readonly<Partial<Record<WorkaroundName, string>>>;
};

/** Whether a workaround is in use, and one line saying what draws, measures or reads instead. */
export type Workaround = {readonly active: boolean; readonly description: string};

/** Each workaround's state, as `decideWorkarounds` gives it. */
export type Workarounds = Readonly<Record<WorkaroundName, Workaround>>;

const texts: Readonly<Record<WorkaroundName, {label: string; on: string; off: string}>> = {
	fastOutput: {
		label: 'fast output step',
		on: 'Ink\'s private Output.get replaced by one without an object per cell',
		off: 'Ink\'s own Output.get draws each frame',
	},
	textCache: {
		label: 'text-size cache bound',
		on: 'the Map in Ink\'s measure-text.js starts over when full',
		off: 'Ink\'s own cache keeps every distinct text drawn, and the heap grows while the view runs',
	},
	inputEvents: {
		label: 'keys from Ink\'s input events',
		on: 'read from the stdin context\'s internal_eventEmitter, split into keys by Ink',
		off: 'keys read from the stdin stream\'s data events, split into keys by tcptop',
	},
	// Off, Ink's standard rendering is correct on an Ink that has fixed its cursor moves; on
	// 6.8 itself (its debug mode failing the probe) each frame lands a line lower than the last
	// (see frame-writer.ts): degraded, but the view goes on.
	frameWriter: {
		label: 'frame writer',
		on: 'Ink in debug mode into FrameWriter, which sends the terminal only the lines that changed',
		off: 'Ink\'s standard rendering, each frame whole',
	},
};

/**
 * Which workarounds may be used with the Ink described by `facts`: all of them on `inkVersion`
 * with nothing missing; none on another version; on that version, those whose internals were
 * found. Each says in one line whether it is on and, when it is off, why and what is used instead.
 */
export function decideWorkarounds(facts: InkFacts): Workarounds {
	const otherVersion = facts.version === inkVersion ? undefined : `Ink ${facts.version ?? 'of unknown version'} installed, written for ${inkVersion}`;
	const decide = (name: WorkaroundName): Workaround => {
		const {label, on, off} = texts[name];
		const why = otherVersion ?? facts.missing[name];
		return why === undefined
			? {active: true, description: `${label} on: ${on}`}
			: {active: false, description: `${label} off (${why}): ${off}`};
	};

	return {fastOutput: decide('fastOutput'), textCache: decide('textCache'), inputEvents: decide('inputEvents'), frameWriter: decide('frameWriter')};
}

/** What `--debug` says before the view starts: the Ink installed, then each workaround's line. */
export function debugLines(internals: Pick<InkInternals, 'version' | 'workarounds'>): string[] {
	return [`Ink ${internals.version ?? 'of unknown version'}`, ...workaroundNames.map(name => internals.workarounds[name].description)];
}

type Transformer = (line: string, index: number) => string;

/** What Ink's `Output` records of a frame, as the fast output step reads it. */
export type InkOperation =
	| {type: 'write'; x: number; y: number; text: string; transformers: Transformer[]}
	| {type: 'clip'}
	| {type: 'unclip'};

/** An instance of Ink's `Output`: the frame's size and what was written to it. */
export type InkOutput = {width: number; height: number; operations: InkOperation[]};

/** `Output.prototype.get`: the frame's lines and height. */
export type InkOutputGet = (this: InkOutput) => {output: string; height: number};

/** Ink's private `Output` class (build/output.js). */
export type InkOutputClass = {
	new (options: {width: number; height: number}): InkOutput & {
		write(x: number, y: number, text: string, options: {transformers: Transformer[]}): void;
		get(): {output: string; height: number};
	};
	prototype: {get: InkOutputGet};
};

type MeasureText = (text: string) => {width: number; height: number};

/** What was found, and the internals the active workarounds use (only theirs). */
export type InkInternals = {
	readonly version: string | undefined;
	readonly workarounds: Workarounds;
	/** Ink's `Output` class, when fastOutput is active. */
	readonly output: InkOutputClass | undefined;
	/** The Map of measure-text.js, when textCache is active. */
	readonly textCache: Map<unknown, unknown> | undefined;
};

let looking: Promise<InkInternals> | undefined;
let found: InkInternals | undefined;

/** Ink's internals, looked for on the first call (which loads Ink and React). */
export async function inkInternals(): Promise<InkInternals> {
	looking ??= lookForInternals().then(internals => {
		found = internals;
		return internals;
	});
	return looking;
}

/**
 * The input events of the Ink that provided `context` (`useStdin()`), when inputEvents is
 * active and the context holds them; undefined otherwise (and before `inkInternals()` has
 * resolved): keys are then read from `context.stdin`.
 */
export function inkInputEvents(context: StdinProps): EventEmitter | undefined {
	if (!found?.workarounds.inputEvents.active) {
		return undefined;
	}

	const events = (context as {internal_eventEmitter?: unknown}).internal_eventEmitter;
	return events instanceof EventEmitter ? events : undefined;
}

async function lookForInternals(): Promise<InkInternals> {
	const version = inkPackageVersion();
	if (version !== inkVersion) {
		return {version, workarounds: decideWorkarounds({version, missing: {}}), output: undefined, textCache: undefined};
	}

	const missing: Partial<Record<WorkaroundName, string>> = {};
	const output = await attempt(missing, 'fastOutput', async () => probeOutput((await inkPrivateModule('output.js')).default));
	const textCache = await attempt(missing, 'textCache', async () => findTextCache((await inkPrivateModule('measure-text.js')).default));
	const rendered = await attempt(missing, 'frameWriter', probeRender);
	if (rendered) {
		if (rendered.frames !== undefined) {
			missing.frameWriter = rendered.frames;
		}

		if (rendered.input !== undefined) {
			missing.inputEvents = rendered.input;
		}
	} else {
		missing.inputEvents = missing.frameWriter;
	}

	const workarounds = decideWorkarounds({version, missing});
	return {
		version,
		workarounds,
		output: workarounds.fastOutput.active ? output : undefined,
		textCache: workarounds.textCache.active ? textCache : undefined,
	};
}

/** What `look` found; undefined, with what went wrong noted as missing, when it failed or threw. */
async function attempt<T>(missing: Partial<Record<WorkaroundName, string>>, name: WorkaroundName, look: () => Promise<T | string>): Promise<T | undefined> {
	try {
		const result = await look();
		if (typeof result !== 'string') {
			return result;
		}

		missing[name] = result;
	} catch (error) {
		missing[name] = `probe failed: ${error instanceof Error ? error.message : String(error)}`;
	}

	return undefined;
}

/** The `Output` class when it records a write and draws it as the fast output step expects. */
function probeOutput(Output: unknown): InkOutputClass | string {
	if (typeof Output !== 'function' || typeof (Output as InkOutputClass).prototype.get !== 'function') {
		return 'no Output class with a get method';
	}

	const output = new (Output as InkOutputClass)({width: 4, height: 2});
	output.write(1, 0, 'ab', {transformers: []});
	const [write, ...more] = output.operations ?? [];
	const recorded = output.width === 4 && output.height === 2 && more.length === 0 && write?.type === 'write'
		&& write.x === 1 && write.y === 0 && write.text === 'ab' && Array.isArray(write.transformers);
	if (!recorded) {
		return 'Output does not record writes as expected';
	}

	const drawn = output.get();
	return drawn.output === ' ab\n' && drawn.height === 2 ? Output as InkOutputClass : 'Output.get draws otherwise';
}

/**
 * The Map in which measure-text.js keeps text sizes. It is private to that module, and the only
 * way to it is the `this` of a call to one of its methods: for the length of one synchronous
 * call, `measureText(probe)`, `Map.prototype.set` notes the Map that stores the probe text, and
 * passes every call on unchanged. Nothing else can run between the patch and its undoing (no
 * await: the thread runs that call to its end), only measureText and what it calls
 * (widest-line, string-width), and no global is replaced while any module loads.
 */
function findTextCache(measureText: unknown): Map<unknown, unknown> | string {
	if (typeof measureText !== 'function') {
		return 'no measureText function';
	}

	// Printable ASCII, which is measured without Unicode data (see scripts/deferred-unicode.mjs),
	// and a text no frame shows.
	const probe = '{tcptop probe of measureText}';
	// Called with .call on the Map it belongs to.
	// eslint-disable-next-line @typescript-eslint/unbound-method
	const nativeSet = Map.prototype.set;
	const stored: Array<Map<unknown, unknown>> = [];
	Map.prototype.set = function (this: Map<unknown, unknown>, key: unknown, value: unknown) {
		if (key === probe) {
			stored.push(this);
		}

		return nativeSet.call(this, key, value);
	} as typeof nativeSet;
	let size: unknown;
	try {
		size = (measureText as MeasureText)(probe);
	} finally {
		Map.prototype.set = nativeSet;
	}

	if (stored.length !== 1 || stored[0]!.get(probe) !== size) {
		return `measureText stored its probe in ${stored.length} Maps`;
	}

	stored[0]!.delete(probe);
	return stored[0]!;
}

/**
 * A component rendered in debug mode into a fake terminal, a key pressed: whether Ink wrote each
 * frame whole in one write and showed the cursor as it unmounted (all FrameWriter reads), and
 * whether the key came out of the stdin context's internal_eventEmitter as Ink's input events.
 * Each is undefined when as expected, else what differed.
 */
async function probeRender(): Promise<{frames: string | undefined; input: string | undefined}> {
	// React is CommonJS: its exports are the default export's, bundled or not.
	const [{default: {createElement}}, {render, Text, useStdin}] = await Promise.all([import('react'), import('ink')]);
	const frame = 'tcptop probe';
	const writes: string[] = [];
	const stdout = Object.assign(new EventEmitter(), {
		columns: 20,
		rows: 5,
		isTTY: true,
		write(data: string) {
			writes.push(data);
			return true;
		},
	});
	let queued: string | null = null;
	const stdin = Object.assign(new EventEmitter(), {
		isTTY: true,
		setEncoding() {},
		setRawMode() {},
		ref() {},
		unref() {},
		read() {
			const data = queued;
			queued = null;
			return data;
		},
	});
	let context: StdinProps | undefined;
	function Probe() {
		context = useStdin();
		return createElement(Text, null, frame);
	}

	const instance = render(createElement(Probe), {
		stdout: stdout as unknown as NodeJS.WriteStream,
		stdin: stdin as unknown as NodeJS.ReadStream,
		debug: true,
		exitOnCtrlC: false,
		patchConsole: false,
	});
	let input: string | undefined;
	try {
		const events = (context as {internal_eventEmitter?: unknown} | undefined)?.internal_eventEmitter;
		if (events instanceof EventEmitter) {
			const got: string[] = [];
			const onInput = (data: string) => got.push(data);
			events.on('input', onInput);
			context!.setRawMode(true);
			queued = 'q\u001B[A';
			stdin.emit('readable');
			context!.setRawMode(false);
			events.off('input', onInput);
			input = got.join(' ') === 'q \u001B[A' ? undefined : 'internal_eventEmitter does not carry Ink\'s input events';
		} else {
			input = 'no internal_eventEmitter in the stdin context';
		}
	} finally {
		instance.unmount();
	}

	// The first frame, the same frame again as Ink unmounts, the cursor shown by Ink's App.
	const frames = writes.join('|') === `${frame}|${frame}|\u001B[?25h` ? undefined : 'debug mode does not write one whole frame per write';
	return {frames, input};
}
