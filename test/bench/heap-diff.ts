/**
 * What each idle subscription keeps, from the memory scenario's heap snapshots
 * (FLOWCAST_BENCH_HEAP_SNAPSHOT=<dir> FLOWCAST_BENCH_FANOUT=memory npm run bench fanout):
 *
 *   tsx test/bench/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [per=5000] [depth=0] [top=40]
 *
 * Groups every heap node by type and name (a closure also by its script:line:column, so a closure
 * made per subscription can be found in the source), plus, with depth > 0, the chain of its first
 * `depth` retainers; prints the groups whose self size grew most from before to after, as bytes
 * and counts per `per` (the subscribers added in between). Large snapshots need
 * NODE_OPTIONS=--max-old-space-size=8000.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
  locations?: number[];
}

interface Group {
  count: number;
  size: number;
}

const UNNAMED = new Set(['string', 'concatenated string', 'sliced string', 'number']);

function groups(path: string, depth: number): Map<string, Group> {
  const { snapshot, nodes, edges, strings, locations = [] } = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const { node_fields: fields, node_types: [types], edge_fields: edgeFields, edge_types: [edgeTypes] } = snapshot.meta;
  const width = fields.length;
  const edgeWidth = edgeFields.length;
  const [TYPE, NAME, SIZE, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((field) => fields.indexOf(field)) as [number, number, number, number];
  const count = nodes.length / width;
  const located = new Map<number, string>();
  for (let i = 0; i < locations.length; i += 4) located.set(locations[i]! / width, `@${locations[i + 1]}:${locations[i + 2]! + 1}:${locations[i + 3]! + 1}`);

  const typeOf = (node: number): string => types[nodes[node * width + TYPE]!]!;
  const label = (node: number): string => {
    const type = typeOf(node);
    const name = UNNAMED.has(type) ? '' : strings[nodes[node * width + NAME]!]!.slice(0, 60);
    return `${type}:${name}${type === 'closure' ? (located.get(node) ?? '') : ''}`;
  };

  // The first strong retainer of each node, preferring a real object over V8's hidden ones.
  const retainer = new Int32Array(count).fill(-1);
  const via: string[] = new Array<string>(count);
  for (let node = 0, edge = 0; node < count; node++) {
    const end = edge + nodes[node * width + EDGES]! * edgeWidth;
    for (; edge < end; edge += edgeWidth) {
      const kind = edgeTypes[edges[edge]!]!;
      if (kind === 'weak' || kind === 'shortcut') continue;
      const to = edges[edge + 2]! / width;
      const current = retainer[to]!;
      if (current === -1 || (typeOf(current) === 'hidden' && typeOf(node) !== 'hidden' && typeOf(node) !== 'synthetic')) {
        retainer[to] = node;
        via[to] = kind === 'element' || kind === 'hidden' ? `[${edges[edge + 1]}]` : strings[edges[edge + 1]!]!;
      }
    }
  }

  const out = new Map<string, Group>();
  for (let node = 0; node < count; node++) {
    let key = label(node);
    for (let d = 0, at = node; d < depth && retainer[at]! >= 0; d++, at = retainer[at]!) key += ` <-${via[at]}- ${label(retainer[at]!)}`;
    const group = out.get(key) ?? { count: 0, size: 0 };
    group.count++;
    group.size += nodes[node * width + SIZE]!;
    out.set(key, group);
  }
  return out;
}

const [before, after, per = '5000', depth = '0', top = '40'] = process.argv.slice(2);
if (!before || !after) {
  console.error('usage: tsx test/bench/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [per=5000] [depth=0] [top=40]');
  process.exit(2);
}
const n = Number(per);
const a = groups(before, Number(depth));
const b = groups(after, Number(depth));
const rows = [...b].map(([key, group]) => {
  const old = a.get(key) ?? { count: 0, size: 0 };
  return { key, bytes: (group.size - old.size) / n, count: (group.count - old.count) / n };
});
for (const [key, old] of a) if (!b.has(key)) rows.push({ key, bytes: -old.size / n, count: -old.count / n });
rows.sort((x, y) => y.bytes - x.bytes);
console.log(`self bytes per ${n} added: ${rows.reduce((sum, row) => sum + row.bytes, 0).toFixed(0)} in all (groups that shrank included)`);
console.log('   bytes   count  group');
for (const row of rows.slice(0, Number(top))) console.log(`${row.bytes.toFixed(1).padStart(8)} ${row.count.toFixed(2).padStart(7)}  ${row.key}`);
