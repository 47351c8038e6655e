import {useStdin} from 'ink';
import {useEffect, useRef} from 'react';
import {KeyDecoder, type KeyPress} from './keys.js';

/** Calls onKeys with the keys of each input event (in raw mode, as useInput does). */
export function useKeys(onKeys: (presses: readonly KeyPress[]) => void): void {
	const {internal_eventEmitter: input, setRawMode} = useStdin();
	// The latest handler, without subscribing again on every frame.
	const handler = useRef(onKeys);
	handler.current = onKeys;
	useEffect(() => {
		setRawMode(true);
		return () => {
			setRawMode(false);
		};
	}, [setRawMode]);
	useEffect(() => {
		const decoder = new KeyDecoder();
		const onInput = (data: string) => {
			const presses = decoder.decode(data);
			if (presses.length > 0) {
				handler.current(presses);
			}
		};

		input.on('input', onInput);
		return () => {
			input.off('input', onInput);
		};
	}, [input]);
}
