import {useStdin} from 'ink';
import {useEffect} from 'react';

// useInput reports function keys as an empty input with no flag set, so F10 (htop's quit key)
// is recognised from the raw sequences terminals send for it.
const f10Sequences = new Set(['\u001B[21~', '\u001B[21;2~']);

export function useF10(onPress: () => void): void {
	const {internal_eventEmitter: input} = useStdin();
	useEffect(() => {
		const onInput = (data: string) => {
			if (f10Sequences.has(data)) {
				onPress();
			}
		};

		input.on('input', onInput);
		return () => {
			input.off('input', onInput);
		};
	}, [input, onPress]);
}
