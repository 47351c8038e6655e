import test from 'ava';
import {TcpState} from '../src/core/transition.js';
import {RateSeries, TransitionRates, historySeconds} from '../src/model/transition-rates.js';

const {CLOSE, SYN_SENT, ESTABLISHED} = TcpState;

test('windows average whole completed seconds, not the one still filling', t => {
	const rates = new TransitionRates();
	for (let i = 0; i < 10; i++) {
		rates.record(CLOSE, SYN_SENT, 10_000 + (i * 100));
	}

	rates.record(CLOSE, SYN_SENT, 11_500);
	t.is(rates.edgeRate(CLOSE, SYN_SENT, 1), 10, 'the second 10 s..11 s held ten');
	rates.advance(12_000);
	t.is(rates.edgeRate(CLOSE, SYN_SENT, 1), 1);
	t.is(rates.edgeRate(CLOSE, SYN_SENT, 10), 1.1);
	t.is(rates.edgeRate(SYN_SENT, ESTABLISHED, 10), 0);
	t.is(rates.seriesRate(RateSeries.transitions, 10), 1.1);
});

test('idle seconds read as zero and old seconds fall out of the window', t => {
	const rates = new TransitionRates();
	rates.record(CLOSE, SYN_SENT, 0);
	rates.advance(1000);
	t.is(rates.edgeRate(CLOSE, SYN_SENT, 1), 1);
	rates.advance(2000);
	t.is(rates.edgeRate(CLOSE, SYN_SENT, 1), 0);
	t.is(rates.edgeRate(CLOSE, SYN_SENT, 60), 1 / 60);
	rates.advance(61_000);
	t.is(rates.edgeRate(CLOSE, SYN_SENT, 60), 0);
	t.is(rates.edgeTotal(CLOSE, SYN_SENT), 1, 'totals never drop');
});

test('history lists per-second counts, oldest first, and survives the ring wrapping', t => {
	const rates = new TransitionRates();
	rates.record(CLOSE, SYN_SENT, 500);
	rates.record(CLOSE, SYN_SENT, 2500);
	rates.record(CLOSE, SYN_SENT, 2600);
	rates.advance(4000);
	t.deepEqual(rates.edgeHistory(CLOSE, SYN_SENT, 4), [1, 0, 2, 0]);

	rates.advance(4000 + (historySeconds * 1000 * 3));
	t.deepEqual(rates.edgeHistory(CLOSE, SYN_SENT, 4), [0, 0, 0, 0], 'a long idle gap clears every bucket');
	t.is(rates.edgeHistory(CLOSE, SYN_SENT).length, historySeconds - 1);
});

test('a late event lands in its own second; one older than the history is only totalled', t => {
	const rates = new TransitionRates();
	rates.advance(200_000);
	rates.record(CLOSE, SYN_SENT, 198_500);
	rates.record(CLOSE, SYN_SENT, 10_000);
	rates.advance(201_000);
	t.deepEqual(rates.edgeHistory(CLOSE, SYN_SENT, 3), [1, 0, 0]);
	t.is(rates.edgeTotal(CLOSE, SYN_SENT), 2);
});

test('named series count separately and edges() lists what was seen', t => {
	const rates = new TransitionRates();
	rates.count(RateSeries.lost, 0, 5);
	rates.count(RateSeries.opened, 0);
	rates.record(SYN_SENT, ESTABLISHED, 0);
	rates.record(CLOSE, SYN_SENT, 0);
	rates.advance(1000);
	t.is(rates.seriesRate(RateSeries.lost, 1), 5);
	t.is(rates.seriesRate(RateSeries.opened, 1), 1);
	t.is(rates.seriesTotal(RateSeries.transitions), 2);
	t.deepEqual(rates.edges(), [{from: SYN_SENT, to: ESTABLISHED}, {from: CLOSE, to: SYN_SENT}]);
});

test('before any event every window is empty', t => {
	const rates = new TransitionRates();
	t.is(rates.edgeRate(CLOSE, SYN_SENT, 10), 0);
	t.deepEqual(rates.seriesHistory(RateSeries.resets, 3), [0, 0, 0]);
});
