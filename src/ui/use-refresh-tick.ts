import {useEffect, useState} from 'react';

/** A counter that goes up every intervalMs, after onTick has run; a frame is drawn per tick. */
export function useRefreshTick(intervalMs: number, onTick: () => void): number {
	const [tick, setTick] = useState(0);
	useEffect(() => {
		const timer = setInterval(() => {
			onTick();
			setTick(previous => previous + 1);
		}, intervalMs);
		return () => {
			clearInterval(timer);
		};
	}, [intervalMs, onTick]);
	return tick;
}
