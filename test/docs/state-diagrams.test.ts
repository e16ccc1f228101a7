/**
 * docs/failover.md draws the link and lease state machines: the diagrams must say what the tables say.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LINK_MOVES } from '../../src/cluster/link-state.js';
import { LEASE_MOVES } from '../../src/leases/lease-table.js';

const doc = readFileSync(new URL('../../docs/failover.md', import.meta.url), 'utf8');
const diagrams = [...doc.matchAll(/```mermaid\nstateDiagram-v2\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

/** The `a --> b` edges of a diagram, with `_` read as `-` (mermaid names cannot hold a dash). */
function edges(diagram: string): string[] {
  return [...diagram.matchAll(/^\s*(\w+) --> (\w+)$/gm)]
    .filter((m) => m[1] !== undefined && m[1] !== '[')
    .map((m) => `${(m[1] ?? '').replaceAll('_', '-')} -> ${(m[2] ?? '').replaceAll('_', '-')}`)
    .sort();
}

function tableEdges(moves: Readonly<Record<string, readonly string[]>>): string[] {
  return Object.entries(moves)
    .flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`))
    .sort();
}

describe('docs/failover.md state diagrams', () => {
  it('has the two diagrams', () => {
    expect(diagrams).toHaveLength(2);
  });

  it('the server link diagram is LINK_MOVES', () => {
    expect(edges(diagrams[0] ?? '')).toEqual(tableEdges(LINK_MOVES));
  });

  it('the lease diagram is LEASE_MOVES', () => {
    expect(edges(diagrams[1] ?? '')).toEqual(tableEdges(LEASE_MOVES));
  });
});
