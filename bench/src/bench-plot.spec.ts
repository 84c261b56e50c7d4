import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeGoal, ratioChart } from './bench-plot';

describe('ratioChart', () => {
  it('draws one bar per ratio, green when its goal is met, red when not, grey without one', () => {
    const svg = ratioChart(
      'demo <&>',
      { fast: 2.5, slow: 0.8, plain: 1.2 },
      { fast: { atLeast: 2 }, slow: { atMost: 0.5 } },
    );
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const bars = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="\d+" fill="(#[0-9a-f]{6})"\/>/g)];
    assert.deepEqual(
      bars.map((bar) => bar[1]),
      ['#2e7d32', '#c62828', '#9aa0a6'],
    );
    assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 2, 'a dashed goal line for each goal');
    assert.ok(svg.includes('demo &lt;&amp;&gt;'), 'names are escaped');
    assert.ok(!svg.includes('demo <&>'));
    assert.ok(svg.includes('goal &gt;= 2') && svg.includes('goal &lt;= 0.5'), 'goal titles are escaped too');
  });
});

describe('goals', () => {
  it('are described in words', () => {
    assert.equal(describeGoal({ atLeast: 0.9 }), '>= 0.9');
    assert.equal(describeGoal({ atLeast: 1, atMost: 2 }), '>= 1 and <= 2');
  });
});
