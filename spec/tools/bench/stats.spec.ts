import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, medianRecord, percentile } from '../../../src/tools/bench/stats';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 0.5), 50);
    assert.equal(percentile(sorted, 0.99), 99);
    assert.equal(percentile(sorted, 1), 100);
    assert.equal(percentile([7], 0.99), 7);
    assert.ok(Number.isNaN(percentile([], 0.5)));
  });

  it('takes medians over runs, field by field, skipping missing figures', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2);
    assert.equal(median([null, 5, Number.NaN]), 5);
    assert.equal(median([null]), null);
    assert.deepEqual(
      medianRecord([
        { a: 1, b: 30 },
        { a: 3, b: null },
        { a: 2, b: 10 },
      ]),
      { a: 2, b: 10 },
    );
  });
});
