/** A structural check of the SVG the bench writes: one root, every tag closed in order. */
import assert from 'node:assert/strict';

export function assertWellFormedSvg(svg: string): void {
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
  assert.match(svg, /<\/svg>\n$/);
  const open: string[] = [];
  for (const [tag, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-z]+)\b[^>]*?(\/?)>/g)) {
    if (selfClosing === '/') continue;
    if (closing === '/') assert.equal(open.pop(), name, `unbalanced ${tag}`);
    else open.push(name);
  }
  assert.deepEqual(open, []);
  // Text is escaped: no stray ampersand outside an entity.
  assert.doesNotMatch(svg, /&(?!#\d+;)/);
}
