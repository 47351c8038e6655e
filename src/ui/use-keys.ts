import type {EventEmitter} from 'node:events';
import {useStdin, type StdinProps} from 'ink';
import {useEffect, useRef} from 'react';
import {inkInputEvents} from './ink-internals.js';
import {InputSplitter, KeyDecoder, type KeyPress} from './keys.js';

/** Calls onKeys with the keys of each input event (in raw mode, as useInput does). */
export function useKeys(onKeys: (presses: readonly KeyPress[]) => void): void {
	const context = useStdin();
	const {stdin, setRawMode} = context;
	const events = inkInputEvents(context);
	// The latest handler, without subscribing again on every frame.
	const handler = useRef(onKeys);
	handler.current = onKeys;
	useEffect(() => listenForKeys({stdin, setRawMode}, events, presses => {
		handler.current(presses);
	}), [stdin, setRawMode, events]);
}

/**
 * Turns raw mode on and calls onKeys with the keys of each input event: Ink's own input events
 * when `events` is given (src/ui/ink-internals.ts), else the `data` events of Ink's stdin
 * stream (public: each chunk Ink reads), split as Ink splits them. Returns what stops it.
 */
export function listenForKeys(context: Pick<StdinProps, 'stdin' | 'setRawMode'>, events: EventEmitter | undefined, onKeys: (presses: readonly KeyPress[]) => void): () => void {
	const decoder = new KeyDecoder();
	const onEvent = (data: string) => {
		const presses = decoder.decode(data);
		if (presses.length > 0) {
			onKeys(presses);
		}
	};

	const {stdin, setRawMode} = context;
	// Ink reads the stream once raw mode is on (and sets its encoding to UTF-8).
	setRawMode(true);
	if (events) {
		events.on('input', onEvent);
		return () => {
			events.off('input', onEvent);
			setRawMode(false);
		};
	}

	const splitter = new InputSplitter();
	// An escape sequence cut off at a chunk's end waits for the next chunk as long as Ink's does.
	let flush: NodeJS.Immediate | undefined;
	const onData = (chunk: string | Buffer) => {
		clearImmediate(flush);
		for (const event of splitter.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'))) {
			onEvent(event);
		}

		if (splitter.holding) {
			flush = setImmediate(() => {
				for (const event of splitter.flush()) {
					onEvent(event);
				}
			});
		}
	};

	stdin.on('data', onData);
	// The data listener goes before raw mode is turned off: a stream left with a data listener
	// and no readable one would flow, read by nobody.
	return () => {
		clearImmediate(flush);
		stdin.off('data', onData);
		setRawMode(false);
	};
}
