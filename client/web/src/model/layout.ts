import dagre from '@dagrejs/dagre';

/** A graph definition as the Graphs query returns it: what the canvas draws. */
export interface GraphDef {
  id: string;
  entry: string;
  nodes: ReadonlyArray<{ id: string; kind: string; maxIterations: number | null }>;
  edges: ReadonlyArray<{ from: string; sources: readonly string[]; to: string; kind: 'STATIC' | 'CONDITION' | 'ROUTER'; when: string | null }>;
}

/** The canvas ids of the two markers that are not graph nodes. */
export const START_ID = '__start__';
export const END_ID = '__end__';
/** How events name the end (Transition.to). */
export const END = 'END';

export interface LaidOutNode {
  /** The graph's node id, or START_ID / END_ID. */
  id: string;
  role: 'node' | 'start' | 'end';
  /** The node kind (transform, delay, …; `code` for a handler written in TypeScript); empty for the markers. */
  kind: string;
  /** On a cycle of the graph: its runs are numbered by iteration. */
  looping: boolean;
  /** Top-left corner and size, in canvas pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LaidOutEdge {
  /** `${from}->${to}` as events name them (to may be END); the start marker's edge is `__start__->${entry}`. */
  id: string;
  /** Canvas node ids (END becomes END_ID). */
  source: string;
  target: string;
  kind: 'STATIC' | 'CONDITION' | 'ROUTER' | 'START';
  /** The condition of a CONDITION edge, "join" for an edge into a join. */
  label: string | null;
  /** The target points back to an earlier rank: a loop. */
  back: boolean;
  /** The route dagre drew around the nodes, from the source's border to the target's. */
  points: Array<{ x: number; y: number }>;
  /** Where dagre kept room for the label (its centre). */
  labelX: number;
  labelY: number;
}

/** LR: left to right (wide canvases); TB: top to bottom (tall ones). */
export type Direction = 'LR' | 'TB';

export interface Layout {
  direction: Direction;
  nodes: LaidOutNode[];
  edges: LaidOutEdge[];
  /** The extent of the drawing, margins included. */
  width: number;
  height: number;
}

/**
 * The direction in which the graph comes out larger in a `width` × `height` box: the one whose
 * drawing needs the least shrinking to fit.
 */
export function bestDirection(graph: GraphDef, width: number, height: number): Direction {
  const scale = (layout: Layout): number => Math.min(width / layout.width, height / layout.height);
  return scale(layoutGraph(graph, 'TB')) > scale(layoutGraph(graph, 'LR')) * 1.1 ? 'TB' : 'LR';
}

export const NODE_SIZE = { width: 196, height: 68 } as const;
const MARKER_SIZE = { width: 72, height: 32 } as const;

function labelWidth(label: string): number {
  return Math.min(220, 6.5 * label.length + 16);
}

/**
 * An SVG path through `points`, rounded at the bends: a straight start, quadratic curves through
 * the midpoints of the segments in between, a straight end (so the arrow head sits square).
 */
export function smoothPath(points: ReadonlyArray<{ x: number; y: number }>): string {
  if (points.length === 0) return '';
  const [first, ...rest] = points;
  if (rest.length === 0) return `M ${first!.x} ${first!.y}`;
  let d = `M ${first!.x} ${first!.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i]!;
    const next = rest[i + 1]!;
    d += ` Q ${p.x} ${p.y} ${(p.x + next.x) / 2} ${(p.y + next.y) / 2}`;
  }
  const last = rest.at(-1)!;
  return `${d} L ${last.x} ${last.y}`;
}

/** A node defined by a handler in code has the kind `${graphId}.${nodeId}`: "code" says that in fewer letters. */
export function kindLabel(graphId: string, node: { id: string; kind: string }): string {
  return node.kind === `${graphId}.${node.id}` ? 'code' : node.kind;
}

/** Node ids that lie on a cycle (a strongly connected component of two or more, or a self-loop). */
export function loopingNodes(graph: GraphDef): Set<string> {
  const next = new Map<string, string[]>(graph.nodes.map((node) => [node.id, []]));
  for (const edge of graph.edges) for (const from of edge.sources) next.get(from)?.push(edge.to);
  // Tarjan's algorithm, iterative enough for the graphs people draw (recursion depth = node count).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const looping = new Set<string>();
  let counter = 0;
  const visit = (id: string): void => {
    index.set(id, counter);
    low.set(id, counter);
    counter++;
    stack.push(id);
    onStack.add(id);
    for (const to of next.get(id) ?? []) {
      if (!next.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(id, Math.min(low.get(id)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(id, Math.min(low.get(id)!, index.get(to)!));
      }
    }
    if (low.get(id) !== index.get(id)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== id);
    if (component.length > 1 || next.get(id)!.includes(id)) for (const m of component) looping.add(m);
  };
  for (const node of graph.nodes) if (!index.has(node.id)) visit(node.id);
  return looping;
}

/**
 * Places the graph with dagre, left to right or top to bottom: a start marker before the entry, the
 * nodes, an end marker after the nodes that lead to END. One edge per (source, target) pair; a join's sources each
 * get an edge labelled "join". Deterministic: the same definition gives the same picture.
 */
export function layoutGraph(graph: GraphDef, direction: Direction = 'LR'): Layout {
  const looping = loopingNodes(graph);
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: direction, nodesep: direction === 'LR' ? 28 : 40, ranksep: direction === 'LR' ? 56 : 40, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));

  const nodes: LaidOutNode[] = [
    { id: START_ID, role: 'start', kind: '', looping: false, x: 0, y: 0, ...MARKER_SIZE },
    ...graph.nodes.map((node): LaidOutNode => ({ id: node.id, role: 'node', kind: kindLabel(graph.id, node), looping: looping.has(node.id), x: 0, y: 0, ...NODE_SIZE })),
  ];
  const edges = new Map<string, LaidOutEdge>();
  const add = (from: string, to: string, kind: LaidOutEdge['kind'], label: string | null): void => {
    const id = `${from}->${to}`;
    const existing = edges.get(id);
    if (existing) {
      if (label && existing.label !== label) existing.label = existing.label ? `${existing.label} | ${label}` : label;
      return;
    }
    edges.set(id, { id, source: from, target: to === END ? END_ID : to, kind, label, back: false, points: [], labelX: 0, labelY: 0 });
  };
  add(START_ID, graph.entry, 'START', null);
  for (const edge of graph.edges) {
    const join = edge.sources.length > 1;
    for (const from of edge.sources) add(from, edge.to, edge.kind, join ? 'join' : edge.kind === 'CONDITION' ? edge.when : null);
  }
  if ([...edges.values()].some((edge) => edge.target === END_ID)) nodes.push({ id: END_ID, role: 'end', kind: '', looping: false, x: 0, y: 0, ...MARKER_SIZE });

  for (const node of nodes) g.setNode(node.id, { width: node.width, height: node.height });
  // Room for the labels there are (the "×3" a loop edge gets once taken is short enough to go without).
  for (const edge of edges.values()) g.setEdge(edge.source, edge.target, edge.label ? { width: labelWidth(edge.label), height: 18, labelpos: 'c' } : {});
  dagre.layout(g);

  for (const node of nodes) {
    const placed = g.node(node.id) as { x: number; y: number };
    node.x = Math.round(placed.x - node.width / 2);
    node.y = Math.round(placed.y - node.height / 2);
  }
  for (const edge of edges.values()) {
    const routed = g.edge(edge.source, edge.target) as { points?: Array<{ x: number; y: number }>; x?: number; y?: number };
    edge.points = (routed.points ?? []).map((p) => ({ x: Math.round(p.x), y: Math.round(p.y) }));
    // dagre places only the labels it kept room for; the others go on the middle of the route.
    const middle = edge.points[Math.floor(edge.points.length / 2)] ?? { x: 0, y: 0 };
    edge.labelX = Math.round(routed.x ?? middle.x);
    edge.labelY = Math.round(routed.y ?? middle.y);
  }
  const rank = new Map(nodes.map((node) => [node.id, direction === 'LR' ? node.x : node.y]));
  for (const edge of edges.values()) edge.back = (rank.get(edge.target) ?? 0) <= (rank.get(edge.source) ?? 0) && edge.source !== START_ID;
  const width = Math.max(...nodes.map((node) => node.x + node.width)) + 16;
  const height = Math.max(...nodes.map((node) => node.y + node.height)) + 16;
  return { direction, nodes, edges: [...edges.values()], width, height };
}
